import { registry } from "@web/core/registry";

// Vietnamese labels from crm_retail/i18n/vi.po; numbers in vi_VN group thousands with ".".
const POINTS_ENTRY = "Điểm tích lũy của bạn"; // "Your Loyalty Points"
const TITLE = "Điểm tích lũy"; // "Loyalty Points"
const POINT_VALUE = "Giá trị một điểm"; // "Value of a Point"
const NEXT_TIER = "Hạng tiếp theo:"; // "Next tier:"
const POINTS_NEEDED = "Số điểm còn thiếu:"; // "Points still needed:"

const card = (label) => `.o_retail_portal_points .card:has(h6:contains('${label}'))`;

registry.category("web_tour.tours").add("crm_retail_portal_tour", {
    url: "/my",
    steps: () => [
        {
            content: "the points entry on /my, with the balance (counters are not grouped)",
            trigger: `a[href='/my/points']:contains('${POINTS_ENTRY}'):contains('1042')`,
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "the page title and breadcrumb",
            trigger: `.breadcrumb .breadcrumb-item.active:contains('${TITLE}')`,
            run() {
                if (!document.title.startsWith(`${TITLE} | Cửa hàng Sao Mai`)) {
                    throw new Error(`Unexpected page title: ${document.title}`);
                }
            },
        },
        {
            content: "the balance (Silver: 1,042 points) and what it is worth (x 1,500 ₫)",
            trigger: `${card("Điểm hiện tại")} h3:contains('1.042')`,
        },
        {
            content: "what the balance is worth",
            trigger: ".o_retail_portal_points [name=points_worth]:contains('1.563.000')",
        },
        {
            content: "the value of a point",
            trigger: `${card(POINT_VALUE)} [name=point_value]:contains('1.500')`,
        },
        {
            content: "the tier: Silver (Bạc)",
            trigger: `${card("Hạng thẻ")} h3:contains('Bạc')`,
        },
        {
            content: "the next tier, Gold (Vàng), 958 points away",
            trigger: `[name=next_tier]:contains('${NEXT_TIER} Vàng'):contains('${POINTS_NEEDED}'):contains('958')`,
        },
        {
            content: "the points history line",
            trigger: ".o_portal_my_doc_table tr:contains('Quà sinh nhật'):contains('1.042')",
        },
    ],
});
