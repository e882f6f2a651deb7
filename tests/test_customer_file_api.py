"""The customer file as integrations and a busy shop see it: over the JSON-2 API, against
a server with several workers."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ApiError, OdooClient, wait_for_facts


def _unique_phone():
    return "09" + str(uuid.uuid4().int)[:8]


def _sell(client, partner_id, amount, move_type="out_invoice", date="2026-01-15"):
    (move_id,) = client.call("account.move", "create", vals_list=[{
        "move_type": move_type,
        "partner_id": partner_id,
        "invoice_date": date,
        "invoice_line_ids": [(0, 0, {"name": "Hàng", "quantity": 1, "price_unit": amount,
                                     "tax_ids": [(5, 0, 0)]})],
    }])
    client.call("account.move", "action_post", ids=[move_id])
    return move_id


def _stats(client, partner_id):
    wait_for_facts(client.db)
    (row,) = client.call("res.partner", "read", ids=[partner_id], fields=[
        "ref", "retail_total_sales", "retail_purchase_count", "retail_last_purchase_date"])
    return row


def test_customer_gets_a_code_and_is_found_by_phone_in_any_format(admin):
    phone = _unique_phone()
    (partner_id,) = admin.call("res.partner", "create", vals_list=[{
        "name": "Khách JSON-2", "phone": f"{phone[:3]} {phone[3:6]} {phone[6:]}"}])
    assert _stats(admin, partner_id)["ref"].startswith("KH")
    for term in (phone, f"+84 {phone[1:3]} {phone[3:6]} {phone[6:]}",
                 f"{phone[:3]}-{phone[3:6]}-{phone[6:]}", f"+84{phone[1:]}"):
        assert [pid for pid, _name in admin.call("res.partner", "name_search", name=term)] \
            == [partner_id], term
        assert admin.call("res.partner", "search",
                          domain=[("display_name", "ilike", term)]) == [partner_id], term


@pytest.mark.parametrize("vals, message", [
    ({"retail_birthday": "2999-01-01"}, "future"),
    ({"phone": "not a phone"}, "not valid"),
])
def test_bad_input_is_refused_with_a_clear_message(admin, vals, message):
    before = admin.call("res.partner", "search_count", domain=[])
    with pytest.raises(ApiError, match=message):
        admin.call("res.partner", "create", vals_list=[{"name": "Sai", **vals}])
    assert admin.call("res.partner", "search_count", domain=[]) == before


def test_duplicate_code_names_the_holder(admin):
    code = f"DUP-{uuid.uuid4().hex[:6]}"
    admin.call("res.partner", "create", vals_list=[{"name": "Người giữ mã", "ref": code}])
    with pytest.raises(ApiError, match="Người giữ mã"):
        admin.call("res.partner", "create", vals_list=[{"name": "Người sau", "ref": code}])


def test_statistics_follow_posting_refunds_and_resets(admin):
    (partner_id,) = admin.call("res.partner", "create", vals_list=[{"name": "Khách thống kê"}])
    invoice = _sell(admin, partner_id, 300000, date="2026-02-01")
    _sell(admin, partner_id, 100000, move_type="out_refund", date="2026-02-03")
    row = _stats(admin, partner_id)
    assert (row["retail_total_sales"], row["retail_purchase_count"],
            row["retail_last_purchase_date"]) == (200000, 1, "2026-02-01")
    admin.call("account.move", "button_draft", ids=[invoice])
    row = _stats(admin, partner_id)
    assert (row["retail_total_sales"], row["retail_purchase_count"]) == (-100000, 0)


def test_invoice_points_at_once_customer_facts_right_after_the_response(admin):
    """The cashier's request sets the invoice's points; the customer's balance, statistics
    and debt follow right after its response, from the queue its transaction filled."""
    (partner_id,) = admin.call("res.partner", "create", vals_list=[{"name": "Khách quầy"}])
    move_id = _sell(admin, partner_id, 250000)
    (move,) = admin.call("account.move", "read", ids=[move_id], fields=["retail_points"])
    assert move["retail_points"] == 25  # a point per 10,000, the default
    wait_for_facts(admin.db)
    (row,) = admin.call("res.partner", "read", ids=[partner_id], fields=[
        "retail_loyalty_points", "retail_total_sales", "retail_purchase_count",
        "retail_debt_amount"])
    assert (row["retail_loyalty_points"], row["retail_total_sales"],
            row["retail_purchase_count"], row["retail_debt_amount"]) == (25, 250000, 1, 250000)


def test_parallel_cashiers_get_unique_codes_and_exact_totals(odoo_server):
    """Eight clients at once: codes never collide, totals add up exactly."""
    url, db = odoo_server
    admin = OdooClient(url, db)
    shared = admin.call("res.partner", "create",
                        vals_list=[{"name": f"Khách chung {i}"} for i in range(2)])

    def cashier(worker):
        client = OdooClient(url, db)
        created = client.call("res.partner", "create", vals_list=[
            {"name": f"Khách song song {worker}-{i}"} for i in range(5)])
        for i in range(4):
            _sell(client, shared[i % 2], 1000 * (worker + 1))
        return created

    with ThreadPoolExecutor(8) as pool:
        created = [pid for ids in pool.map(cashier, range(8)) for pid in ids]
    codes = [row["ref"] for row in admin.call("res.partner", "read", ids=created,
                                              fields=["ref"])]
    assert len(set(codes)) == len(codes) == 40
    expected = sum(2 * 1000 * (worker + 1) for worker in range(8))
    for partner_id in shared:
        row = _stats(admin, partner_id)
        assert (row["retail_total_sales"], row["retail_purchase_count"]) == (expected, 16)


def test_first_purchases_at_two_counters_at_once_make_one_opportunity(odoo_server):
    """A new customer buys at two counters at the same moment: the funnel follows the
    purchases right after each response, one customer at a time, so the customer gets one
    opportunity, created at Contract once, by the invoice that came first."""
    url, db = odoo_server
    admin = OdooClient(url, db)
    (partner_id,) = admin.call("res.partner", "create", vals_list=[{"name": "Khách hai quầy"}])

    def cashier(amount):
        return _sell(OdooClient(url, db), partner_id, amount)

    with ThreadPoolExecutor(2) as pool:
        invoices = list(pool.map(cashier, (120000, 80000)))
    wait_for_facts(db)
    (lead,) = admin.call("crm.lead", "search_read", domain=[("partner_id", "=", partner_id)],
                         fields=["stage_id", "message_ids"])
    (customer,) = admin.call("res.partner", "read", ids=[partner_id],
                             fields=["retail_stage_id"])
    (contract,) = admin.call("ir.model.data", "search_read", domain=[
        ("module", "=", "crm_retail"), ("name", "=", "stage_contract")], fields=["res_id"])
    assert lead["stage_id"][0] == customer["retail_stage_id"][0] == contract["res_id"]
    names = [row["name"] for row in admin.call("account.move", "read", ids=invoices,
                                               fields=["name"])]
    moves = [row["body"] for row in admin.call("mail.message", "read", ids=lead["message_ids"],
                                               fields=["body"])
             if "Created in" in row["body"] or "Moved to" in row["body"]]
    assert len(moves) == 1 and any(name in moves[0] for name in names), (names, moves)
