import { registry } from "@web/core/registry";

const FUNNEL = [
    "Target customer",
    "Opportunity",
    "Quotation",
    "Contract / first purchase",
    "Repeat customer",
    "Loyal customer",
    "Advocate",
];
const column = (name) =>
    `.o_opportunity_kanban .o_kanban_group:has(.o_column_title:contains('${name}'))`;

registry.category("web_tour.tours").add("crm_retail_pipeline_tour", {
    url: "/odoo/crm",
    steps: () => [
        {
            content: "the seven funnel columns are there, in order",
            trigger: column("Advocate"),
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
            content: "drag the card from Opportunity to Quotation",
            trigger: `${column("Opportunity")} .o_kanban_record:contains('Tour card')`,
            run: `drag_and_drop (${column("Quotation")})`,
        },
        {
            content: "open the card, now in Quotation",
            trigger: `${column("Quotation")} .o_kanban_record:contains('Tour card')`,
            run: "click",
        },
        {
            content: "create a quotation from the card",
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
            content: "back to the card",
            trigger: ".o_breadcrumb a:contains('Tour card')",
            run: "click",
        },
        {
            content: "the card sits in Quotation",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Quotation')",
        },
    ],
});
