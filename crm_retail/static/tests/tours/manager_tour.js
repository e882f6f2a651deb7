import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

// Vietnamese labels from crm_retail/i18n/vi.po: the tour user works in vi_VN.
const SEGMENTS = "Nhóm khách hàng"; // "Customer Segments"
const MATCH = "khách hàng khớp quy tắc này"; // "customers match this rule"
const RECOMPUTE = "Tính lại ngay"; // "Recompute Now"
const REVENUE_BY_SEGMENT = "Doanh thu theo nhóm"; // "Revenue by Segment"
const SEGMENT = "Khách chi tiêu lớn";

// The live count, exactly (":contains('1')" would also accept 10 or 21).
const liveCount = (count) => ({
    content: `the live count says ${count} customers match`,
    trigger: `.alert-info:contains('${MATCH}') .o_field_widget[name=match_count]:contains('${count}')`,
    run() {
        const text = this.anchor.textContent.trim();
        if (text !== String(count)) {
            throw new Error(`Live count is ${text}, expected ${count}`);
        }
    },
});

registry.category("web_tour.tours").add("crm_retail_manager_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "open Sales",
            trigger: ".o_app[data-menu-xmlid='sale.sale_menu_root']",
            run: "click",
        },
        {
            content: "open the Loyalty menu",
            trigger: ".dropdown-toggle[data-menu-xmlid='crm_retail.menu_retail_loyalty']",
            run: "click",
        },
        {
            content: "open the segments",
            trigger: ".dropdown-item[data-menu-xmlid='crm_retail.menu_retail_segment']",
            run: "click",
        },
        {
            content: "the segments list, titled in Vietnamese",
            trigger: `.o_breadcrumb .active:contains('${SEGMENTS}')`,
        },
        {
            content: "new segment",
            trigger: ".o_list_view .o_list_button_add, .o_control_panel .o_list_button_add",
            run: "click",
        },
        {
            content: "name it",
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: `edit ${SEGMENT}`,
        },
        {
            content: "rule on net sales",
            trigger: ".o_form_view .o_field_widget[name=use_sales] input",
            run: "check",
        },
        {
            content: "net sales of at least 500,000",
            trigger: ".o_form_view .o_field_widget[name=sales_min] input",
            run: "edit 500000 && press Tab",
        },
        liveCount(2),
        {
            content: "raise it to 5,000,000",
            trigger: ".o_form_view .o_field_widget[name=sales_min] input",
            run: "edit 5000000 && press Tab",
        },
        liveCount(1),
        {
            content: "save",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "saved",
            trigger: ".o_form_view .o_form_saved",
        },
        {
            content: "recompute the segments now",
            trigger: `.o_form_view .o_statusbar_buttons button[name=action_recompute]:contains('${RECOMPUTE}')`,
            run: "click",
        },
        {
            content: "the segment now holds its one customer",
            trigger: ".o_form_view .oe_stat_button[name=action_view_customers] .o_stat_value:contains('1')",
        },
        {
            content: "open the Sales reporting menu",
            trigger: ".dropdown-toggle[data-menu-xmlid='sale.menu_sale_report']",
            run: "click",
        },
        {
            content: "open revenue by segment",
            trigger: ".dropdown-item[data-menu-xmlid='crm_retail.menu_retail_segment_report']",
            run: "click",
        },
        {
            content: "the report, titled in Vietnamese",
            trigger: `.o_breadcrumb .active:contains('${REVENUE_BY_SEGMENT}')`,
        },
        {
            content: "the pivot has a row for the new segment",
            trigger: `.o_pivot .o_pivot_header_cell_closed:contains('${SEGMENT}')`,
        },
        {
            content: "switch to the graph",
            trigger: ".o_control_panel .o_switch_view.o_graph",
            run: "click",
        },
        {
            content: "the graph is drawn",
            trigger: ".o_graph_renderer canvas",
        },
    ],
});
