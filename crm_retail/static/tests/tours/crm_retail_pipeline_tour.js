import { registry } from "@web/core/registry";

// The stages' Vietnamese names (crm_retail/i18n/vi.po): the tour user works in vi_VN.
const TARGET = "Khách hàng mục tiêu"; // Target customer
const OPPORTUNITY = "Cơ hội – khách hàng tiềm năng"; // Opportunity
const QUOTATION = "Báo giá"; // Quotation
const FUNNEL = [
    TARGET,
    OPPORTUNITY,
    QUOTATION,
    "Hợp đồng – khách mua hàng", // Contract / first purchase
    "Khách hàng thân thiết – mua lần tiếp theo", // Repeat customer
    "Khách hàng trung thành", // Loyal customer
    "Khách hàng liên kết", // Advocate
];
const FUNNEL_REPORT = "Phễu khách hàng"; // Customer Funnel
const column = (name) =>
    `.o_opportunity_kanban .o_kanban_group:has(.o_column_title:contains('${name}'))`;

registry.category("web_tour.tours").add("crm_retail_pipeline_tour", {
    url: "/odoo/crm",
    steps: () => [
        {
            content: "the seven funnel columns are there, in order, in Vietnamese",
            trigger: column(FUNNEL[6]),
            run() {
                const titles = [
                    ...document.querySelectorAll(".o_opportunity_kanban .o_column_title"),
                ].map((title) => title.textContent.trim());
                const positions = FUNNEL.map((name) =>
                    titles.findIndex((title) => title.startsWith(name))
                );
                if (positions.some((position, i) => position < 0 || (i && position < positions[i - 1]))) {
                    throw new Error(`Funnel columns out of order: ${titles.join(" | ")}`);
                }
            },
        },
        {
            content: "drag the opportunity from Opportunity to Quotation",
            trigger: `${column(OPPORTUNITY)} .o_kanban_record:contains('Tour opportunity')`,
            run: `drag_and_drop (${column(QUOTATION)})`,
        },
        {
            content: "open the opportunity, now in Quotation",
            trigger: `${column(QUOTATION)} .o_kanban_record:contains('Tour opportunity')`,
            run: "click",
        },
        {
            content: "create a quotation from the opportunity",
            trigger: ".o_form_view button[name=action_sale_quotations_new]",
            run: "click",
        },
        {
            content: "save the quotation",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "the quotation is saved",
            trigger: ".o_form_view .o_form_saved",
        },
        {
            content: "back to the opportunity",
            trigger: ".o_breadcrumb a:contains('Tour opportunity')",
            run: "click",
        },
        {
            content: "the opportunity sits in Quotation",
            trigger: `.o_statusbar_status .o_arrow_button_current:contains('${QUOTATION}')`,
        },
        {
            content: "open the CRM reporting menu",
            trigger: ".dropdown-toggle[data-menu-xmlid='crm.crm_menu_report']",
            run: "click",
        },
        {
            content: "open the funnel report",
            trigger: ".dropdown-item[data-menu-xmlid='crm_retail.menu_crm_retail_funnel_report']",
            run: "click",
        },
        {
            content: "the funnel report, titled in Vietnamese",
            trigger: `.o_breadcrumb .active:contains('${FUNNEL_REPORT}')`,
        },
        {
            content: "one opportunity entered Opportunity and went on (100% conversion), one is in Quotation",
            trigger: `.o_pivot tr:has(.o_pivot_header_cell_closed:contains('${QUOTATION}')) .o_pivot_cell_value`,
            run() {
                const row = (stage) => {
                    const header = [...document.querySelectorAll(".o_pivot .o_pivot_header_cell_closed")]
                        .find((cell) => cell.textContent.includes(stage));
                    if (!header) {
                        throw new Error(`No funnel row for ${stage}`);
                    }
                    return [...header.closest("tr").querySelectorAll(".o_pivot_cell_value")]
                        .map((cell) => cell.textContent.trim());
                };
                const opportunity = row(OPPORTUNITY);
                const quotation = row(QUOTATION);
                // measures: Opportunities, Conversion, Days in Stage, Expected Revenue
                if (opportunity[0] !== "1" || !opportunity[1].startsWith("100")) {
                    throw new Error(`Opportunity row: ${opportunity.join(" | ")}`);
                }
                if (quotation[0] !== "1" || !quotation[1].startsWith("0")) {
                    throw new Error(`Quotation row: ${quotation.join(" | ")}`);
                }
            },
        },
    ],
});
