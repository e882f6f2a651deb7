"""Points under real concurrency: a server with 4 workers and parallel JSON-2 clients, each
with its own HTTP session."""
import re
from concurrent.futures import ThreadPoolExecutor

from conftest import ApiError, OdooClient, run_audit, wait_for_facts

CLIENTS = 8
INVOICES_PER_CLIENT = 50
CUSTOMERS = 5


def _amount(worker, number):
    """10,000 to 59,000 VND: 1 to 5 points, rounded down."""
    return 10000 + (1000 * (worker * 7 + number)) % 50000


def _settings(admin):
    (user,) = admin.call("res.users", "read", ids=[admin.uid], fields=["company_id"])
    admin.call("res.company", "write", ids=[user["company_id"][0]], vals={
        "retail_points_amount": 10000, "retail_point_value": 1000,
        "retail_points_base": "total", "retail_points_min_amount": 0,
    })


def _invoice(client, partner_id, amount, post=True):
    (move_id,) = client.call("account.move", "create", vals_list=[{
        "move_type": "out_invoice",
        "partner_id": partner_id,
        "invoice_date": "2026-03-01",
        "invoice_line_ids": [(0, 0, {"name": "Hàng", "quantity": 1, "price_unit": amount,
                                     "tax_ids": [(5, 0, 0)]})],
    }])
    if post:
        client.call("account.move", "action_post", ids=[move_id])
    return move_id


def _balance(client, partner_id):
    wait_for_facts(client.db)
    (row,) = client.call("res.partner", "read", ids=[partner_id], fields=["retail_loyalty_points"])
    history = client.call("retail.points.line", "search_read",
                          domain=[("partner_id", "=", partner_id)],
                          fields=["points_earned", "points_used"])
    assert row["retail_loyalty_points"] == sum(
        h["points_earned"] - h["points_used"] for h in history)
    return row["retail_loyalty_points"]


def test_parallel_posting_gives_exact_balances(odoo_server):
    """8 clients post 50 invoices each for the same 5 customers at once."""
    url, db = odoo_server
    admin = OdooClient(url, db)
    _settings(admin)
    customers = admin.call("res.partner", "create",
                           vals_list=[{"name": f"Khách đông {i}"} for i in range(CUSTOMERS)])

    def cashier(worker):
        client = OdooClient(url, db)
        for number in range(INVOICES_PER_CLIENT):
            _invoice(client, customers[number % CUSTOMERS], _amount(worker, number))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(cashier, range(CLIENTS)))

    expected = dict.fromkeys(customers, 0)
    for worker in range(CLIENTS):
        for number in range(INVOICES_PER_CLIENT):
            expected[customers[number % CUSTOMERS]] += _amount(worker, number) // 10000
    assert {pid: _balance(admin, pid) for pid in customers} == expected
    run_audit(db)


def test_parallel_redemptions_never_overspend(odoo_server):
    """20 cashiers redeem 10 points at once from a customer holding 100."""
    url, db = odoo_server
    admin = OdooClient(url, db)
    _settings(admin)
    (customer,) = admin.call("res.partner", "create", vals_list=[{"name": "Khách đổi điểm"}])
    admin.call("res.partner", "retail_adjust_points", ids=[customer], points=100,
               reason="Điểm đầu kỳ")
    drafts = [_invoice(admin, customer, 50000, post=False) for _ in range(20)]

    def redeem(move_id):
        try:
            OdooClient(url, db).call("account.move", "retail_redeem_points", ids=[move_id],
                                     points=10)
            return "ok"
        except ApiError as error:
            return error.message

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(redeem, drafts))

    refused = [result for result in results if result != "ok"]
    assert len(refused) == 10, results
    for message in refused:
        assert re.search(r"has \d+ points; 10 cannot be used", message), message
    assert _balance(admin, customer) == 0
    discounted = admin.call("account.move.line", "search_count", domain=[
        ("move_id", "in", drafts), ("retail_points_redeemed", ">", 0)])
    assert discounted == 10
    run_audit(db)
