import { registry } from "@web/core/registry";

// A cashier at the counter, in Vietnamese: a new invoice, the customer found by phone
// typed as people say it, their points and debt in view, the most usable points redeemed
// in two clicks, the invoice posted, the new balance shown.
registry.category("web_tour.tours").add("crm_retail_cashier_tour", {
    steps: () => [
        {
            content: "the customer field of the new invoice",
            trigger: ".o_form_view .o_field_widget[name=partner_id] input",
            run: "click",
        },
        {
            content: "type the phone with spaces and the country code",
            trigger: ".o_form_view .o_field_widget[name=partner_id] input",
            run: "edit +84 901 234 567",
        },
        {
            content: "the dropdown shows code and phone: pick the customer with that phone",
            trigger: ".o-autocomplete--dropdown-menu .dropdown-item:contains('0901234567'):contains('[KH')",
            run: "click",
        },
        {
            content: "the customer's points, tier and debt are shown under the customer",
            trigger: "div[name=retail_customer_loyalty] .o_field_widget[name=retail_customer_points]:contains('300')",
        },
        {
            trigger: "div[name=retail_customer_debt] .o_field_widget[name=retail_customer_debt]:contains('500.000')",
        },
        {
            content: "the labels are in Vietnamese",
            trigger: ".o_form_view label:contains('Điểm')",
        },
        {
            content: "add a line",
            trigger: ".o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".o_selected_row .o_field_widget[name=product_id] input",
            run: "edit Cà phê tour",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu .dropdown-item:contains('Cà phê tour')",
            run: "click",
        },
        {
            content: "Redeem appears once there is something to pay",
            trigger: "button[name=action_retail_redeem_points]",
            run: "click",
        },
        {
            content: "the dialog proposes the most that may be used",
            trigger: ".modal .o_field_widget[name=points] input:value(120)",
        },
        {
            trigger: ".modal button[name=action_redeem]",
            run: "click",
        },
        {
            content: "the points pay the invoice: the dialog closes, the discount line is there",
            trigger: ".o_form_view .o_field_one2many[name=invoice_line_ids] td:contains('Thanh toán bằng 120 điểm')",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "post",
            trigger: ".o_form_view button[name=action_post]",
            run: "click",
        },
        {
            content: "posted, and the balance shown is what is left",
            trigger: ".o_form_view .o_statusbar_status .o_arrow_button_current[data-value=posted]",
        },
        {
            trigger: "div[name=retail_customer_loyalty] .o_field_widget[name=retail_customer_points]:contains('180')",
        },
    ],
});
