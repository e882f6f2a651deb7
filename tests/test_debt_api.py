"""Debt over the JSON-2 API on a 4-worker server, compared with Odoo's own receivable
figures."""
import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import ApiError, OdooClient, wait_for_facts

INVOICE_DATE = "2026-01-10"


def _company(admin):
    (user,) = admin.call("res.users", "read", ids=[admin.uid], fields=["company_id"])
    return user["company_id"][0]


def _invoice(client, partner_id, amount, due, move_type="out_invoice", post=True):
    (move_id,) = client.call("account.move", "create", vals_list=[{
        "move_type": move_type,
        "partner_id": partner_id,
        "invoice_date": INVOICE_DATE,
        "invoice_date_due": due,
        "invoice_line_ids": [(0, 0, {"name": "Hàng", "quantity": 1, "price_unit": amount,
                                     "tax_ids": [(5, 0, 0)]})],
    }])
    if post:
        client.call("account.move", "action_post", ids=[move_id])
    return move_id


def _pay(client, move_id, amount):
    (wizard_id,) = client.call(
        "account.payment.register", "create", vals_list=[{"amount": amount}],
        context={"active_model": "account.move", "active_ids": [move_id]})
    client.call("account.payment.register", "action_create_payments", ids=[wizard_id])


def _odoo_receivable(client, partner_id):
    """Odoo's own figure: the open receivable items of the customer."""
    lines = client.call("account.move.line", "search_read", domain=[
        ("partner_id", "child_of", partner_id), ("parent_state", "=", "posted"),
        ("account_id.account_type", "=", "asset_receivable")], fields=["amount_residual"])
    return round(sum(line["amount_residual"] for line in lines), 2)


def _debt(client, partner_id):
    wait_for_facts(client.db)
    return client.call("res.partner", "read", ids=[partner_id], fields=[
        "retail_debt_amount", "retail_debt_overdue_amount", "retail_debt_overdue_days",
        "retail_debt_status", "credit"])[0]


def _partner(client, vals):
    (partner_id,) = client.call("res.partner", "create", vals_list=[vals])
    return partner_id


def test_debt_follows_the_journal_items(admin):
    partner_id = _partner(admin, {"name": "Phạm Thị Lan"})
    first = _invoice(admin, partner_id, 1000, "2026-02-01")
    _invoice(admin, partner_id, 500, "2099-12-31")
    debt = _debt(admin, partner_id)
    assert debt["retail_debt_amount"] == 1500 == _odoo_receivable(admin,
                                                                  partner_id) == debt["credit"]
    assert debt["retail_debt_overdue_amount"] == 1000
    assert debt["retail_debt_status"] == "overdue"
    _pay(admin, first, 400)
    _invoice(admin, partner_id, 100, "2026-01-10", move_type="out_refund")
    debt = _debt(admin, partner_id)
    assert debt["retail_debt_amount"] == 1000 == _odoo_receivable(admin,
                                                                  partner_id) == debt["credit"]
    assert debt["retail_debt_overdue_amount"] == 500
    _pay(admin, first, 600)
    debt = _debt(admin, partner_id)
    assert debt["retail_debt_amount"] == 400 == _odoo_receivable(admin, partner_id)
    assert (debt["retail_debt_overdue_amount"], debt["retail_debt_status"]) == (0, "owes")
    assert admin.call("res.partner", "search_count", domain=[
        ("id", "=", partner_id), ("retail_debt_status", "=", "owes")]) == 1
    # Aged receivables of the customer add up to the same figure.
    groups = admin.call("retail.debt.aging.report", "formatted_read_group",
                        domain=[("partner_id", "=", partner_id)],
                        aggregates=["amount_residual:sum"])
    assert groups[0]["amount_residual:sum"] == 400


def _limit_user(admin):
    groups = [admin.call("ir.model.data", "check_object_reference",
                         module=module, xml_id=name)[1]
              for module, name in (("sales_team", "group_sale_salesman"),
                                   ("account", "group_account_invoice"))]
    (user_id,) = admin.call("res.users", "create", vals_list=[{
        "name": "Thu ngân", "login": "limit_cashier", "password": "limit_cashier",
        "group_ids": [(6, 0, groups)],
    }])
    return user_id


def test_debt_limit_block_holds_under_concurrency(odoo_server, admin):
    """Pairs of quotations that each fit the limit but not together, confirmed at the same
    moment by two clients: exactly one of each pair goes through."""
    url, db = odoo_server
    company_id = _company(admin)
    admin.call("res.company", "write", ids=[company_id], vals={
        "account_use_credit_limit": True, "retail_credit_limit_policy": "block"})
    cashier_id = _limit_user(admin)
    (product_id,) = admin.call("product.product", "create",
                               vals_list=[{"name": "Gạo", "list_price": 600}])
    rounds = 4
    for number in range(rounds):
        partner_id = _partner(admin, {
            "name": f"Đại lý {number}", "credit_limit": 1000,
            "use_partner_credit_limit": True})
        orders = admin.call("sale.order", "create", vals_list=[{
            "partner_id": partner_id, "user_id": cashier_id,
            "order_line": [(0, 0, {"product_id": product_id, "product_uom_qty": 1,
                                   "price_unit": 600, "tax_ids": [(5, 0, 0)]})],
        } for _ in range(2)])
        barrier = threading.Barrier(2)

        def confirm(order_id, barrier=barrier):
            client = OdooClient(url, db, "limit_cashier", "limit_cashier")
            barrier.wait()
            try:
                client.call("sale.order", "action_confirm", ids=[order_id])
                return "confirmed"
            except ApiError as error:
                assert "above the debt limit" in error.message, error
                return "refused"

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(confirm, orders))
        assert outcomes == ["confirmed", "refused"], outcomes
        states = [order["state"] for order in admin.call("sale.order", "read", ids=orders,
                                                         fields=["state"])]
        assert sorted(states) == ["draft", "sale"]


def test_parallel_posting_keeps_debt_exact(odoo_server, admin):
    url, db = odoo_server
    partner_ids = [_partner(admin, {"name": f"Khách sỉ {i}"}) for i in range(3)]

    def work(worker):
        client = OdooClient(url, db)
        for number in range(8):
            _invoice(client, partner_ids[(worker + number) % 3], 100 + worker * 10 + number,
                     "2026-02-01")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(6)))
    for partner_id in partner_ids:
        debt = _debt(admin, partner_id)
        assert debt["retail_debt_amount"] == _odoo_receivable(admin, partner_id) == debt["credit"]
