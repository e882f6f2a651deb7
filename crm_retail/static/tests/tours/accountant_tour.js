import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// Vietnamese labels from crm_retail/i18n/vi.po: the tour user works in vi_VN.
const AGED_RECEIVABLES = "Tuổi nợ phải thu"; // "Aged Receivables"
const STATEMENT_BUTTON = "Sổ công nợ"; // stat button "Debt Statement"
const APPLY = "Cấn trừ"; // "Apply"
const CUSTOMER = "Khách nợ tour";
const APPLY_BUTTON = ".o_form_view button[name=action_retail_apply_payments]";

registry.category("web_tour.tours").add("crm_retail_accountant_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "open Invoicing",
            trigger: ".o_app[data-menu-xmlid='account.menu_finance']",
            run: "click",
        },
        {
            content: "open its Reporting menu",
            trigger: ".dropdown-toggle[data-menu-xmlid='account.menu_finance_reports']",
            run: "click",
        },
        {
            content: "open the aged receivables",
            trigger: ".dropdown-item[data-menu-xmlid='crm_retail.menu_retail_debt_aging']",
            run: "click",
        },
        {
            content: "the report is titled in Vietnamese",
            trigger: `.o_breadcrumb .active:contains('${AGED_RECEIVABLES}')`,
        },
        {
            content: "the customer's group: two invoices and the unapplied payment",
            trigger: `.o_list_view .o_group_header:contains('${CUSTOMER}')`,
            run: "click",
        },
        {
            content: "open one of its receivable lines",
            trigger: ".o_list_view .o_data_row:first .o_data_cell[name=partner_id]",
            run: "click",
        },
        {
            content: "open the customer from the line",
            trigger: `.o_form_view .o_field_widget[name=partner_id] a:contains('${CUSTOMER}')`,
            run: "click",
        },
        {
            content: "the customer form",
            trigger: `.o_breadcrumb .active:contains('${CUSTOMER}')`,
        },
        {
            content: "open the debt statement",
            trigger: `.o_form_view .oe_stat_button:contains('${STATEMENT_BUTTON}')`,
            run: "click",
        },
        {
            content: "the statement of this month lists the new invoice and the payment",
            trigger: ".modal .o_form_view .o_field_widget[name=line_ids] .o_data_row:eq(1)",
        },
        {
            content: "the statement has a closing balance",
            trigger: ".modal .o_field_widget[name=closing_balance]:not(:empty)",
        },
        {
            content: "print it",
            trigger: ".modal button[name=action_print_pdf]",
            run: "click",
        },
        {
            content: "the report was rendered and downloaded (the screen is no longer blocked)",
            trigger: "body:not(:has(.o_blockUI)) .modal button[name=action_print_pdf]",
        },
        {
            content: "close the statement",
            trigger: ".modal .modal-footer button[special=cancel]",
            run: "click",
        },
        {
            content: "back on the customer, find Apply payments (on the form or in one of its tabs)",
            trigger: "body:not(:has(.modal)) .o_form_view .o_form_sheet",
            async run({ click }) {
                // The button may sit in a tab of the customer form: open the tabs in turn.
                for (const tab of document.querySelectorAll(".o_form_view .o_notebook .nav-link")) {
                    if (document.querySelector(APPLY_BUTTON)) {
                        break;
                    }
                    await click(tab);
                }
            },
        },
        {
            content: "apply the unapplied payment to the oldest invoices",
            trigger: APPLY_BUTTON,
            run: "click",
        },
        {
            content: "the preview: the payment pays the older invoice, then part of the newer",
            trigger: ".modal .o_field_widget[name=line_ids] .o_data_row:eq(1)",
        },
        {
            content: "apply (label in Vietnamese)",
            trigger: `.modal button[name=action_apply]:contains('${APPLY}')`,
            run: "click",
        },
        {
            content: "the wizard is closed, the customer form is back",
            trigger: "body:not(:has(.modal)) .o_form_view .o_form_sheet",
        },
    ],
});
