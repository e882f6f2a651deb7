"""Bad input over the JSON-2 API, as integrations and curious users send it: wrong types,
values out of range, int4 overflow, malformed domains and dates, ids that do not exist,
another company's documents, archived records.

Each case must end in a clean refusal and save nothing. JSON-2 answers an error with the
exception's qualified name and message: a clean refusal is odoo.exceptions.UserError or its
subclasses ValidationError and MissingError, or AccessError; anything else (KeyError,
TypeError, a psycopg2 error..., HTTP 500) is a crash. The legacy XML-RPC endpoint (fault
code 2 for the former, 4 for AccessError, 1 with the traceback for a crash) keeps a few
cases of its own, at the end."""
import uuid
import xmlrpc.client
from collections import namedtuple
from types import SimpleNamespace

import pytest
from conftest import ApiError, OdooClient, wait_for_facts

USER_ERROR = {"odoo.exceptions.UserError", "odoo.exceptions.ValidationError",
              "odoo.exceptions.MissingError"}
ACCESS_ERROR = {"odoo.exceptions.AccessError"}
REFUSED = USER_ERROR | ACCESS_ERROR
INT4_MAX = 2**31 - 1
NO_SUCH_ID = 2_000_000_000
MARK = f"Sai-{uuid.uuid4().hex[:6]}"

DEBT_FIELDS = ["retail_debt_amount", "retail_debt_overdue_amount", "retail_debt_overdue_days",
               "retail_debt_status"]
FACTS = [*DEBT_FIELDS, "retail_loyalty_points", "retail_loyalty_points_total",
         "retail_loyalty_tier_id",
         "retail_total_sales", "retail_purchase_count", "retail_last_purchase_date",
         "retail_stage_id", "ref", "phone", "retail_birthday", "retail_gender"]


def _ref(client, xmlid):
    module, name = xmlid.split(".")
    (row,) = client.call("ir.model.data", "search_read",
                         domain=[("module", "=", module), ("name", "=", name)],
                         fields=["res_id"])
    return row["res_id"]


def _create(client, model, vals):
    (record_id,) = client.call(model, "create", vals_list=[vals])
    return record_id


def _invoice(client, partner_id, amount, post=True, **context):
    (move_id,) = client.call("account.move", "create", vals_list=[{
        "move_type": "out_invoice",
        "partner_id": partner_id,
        "invoice_date": "2026-01-15",
        "invoice_date_due": "2026-01-15",
        "invoice_line_ids": [(0, 0, {"name": "Hàng", "quantity": 1, "price_unit": amount,
                                     "tax_ids": [(5, 0, 0)]})],
    }], context=context)
    if post:
        client.call("account.move", "action_post", ids=[move_id], context=context)
    return move_id


def _user(admin, login, company_id, groups):
    admin.call("res.users", "create", vals_list=[{
        "name": login, "login": login, "password": login,
        "company_id": company_id, "company_ids": [(6, 0, [company_id])],
        "group_ids": [(6, 0, [_ref(admin, xmlid) for xmlid in groups])],
    }])


@pytest.fixture(scope="module")
def shop(odoo_server):
    """Company A (the main one) with a customer holding 100 points, draft and posted
    invoices, a quotation and a segment; company B with its own customer and invoices,
    seen only by B's owner; a cashier of company A only."""
    url, db = odoo_server
    admin = OdooClient(url, db)
    (user,) = admin.call("res.users", "read", ids=[admin.uid], fields=["company_id"])
    company_a = user["company_id"][0]
    customer = _create(admin, "res.partner", {"name": f"{MARK} khách", "email": "k@ex.com"})
    admin.call("res.partner", "retail_adjust_points", ids=[customer], points=100,
               reason="Số dư đầu kỳ")
    archived = _create(admin, "res.partner", {"name": f"{MARK} khách cũ"})
    admin.call("res.partner", "retail_adjust_points", ids=[archived], points=10,
               reason="Số dư đầu kỳ")
    admin.call("res.partner", "write", ids=[archived], vals={"active": False})
    product = _create(admin, "product.product", {"name": f"{MARK} hàng", "list_price": 1})
    order = _create(admin, "sale.order", {
        "partner_id": customer,
        "order_line": [(0, 0, {"product_id": product, "product_uom_qty": 1,
                               "price_unit": 300000})]})
    segment = _create(admin, "retail.segment", {
        "name": f"{MARK} phân khúc", "gender": "female", "company_id": company_a})

    # Company B, its chart of accounts (as admin, who creates it), its owner, its data.
    company_b = _create(admin, "res.company", {"name": f"{MARK} Cửa hàng B"})
    admin.call("account.chart.template", "try_loading", template_code="generic_coa",
               company=company_b, context={"allowed_company_ids": [company_b]})
    _user(admin, f"{MARK}-owner-b".lower(), company_b,
          ["sales_team.group_sale_manager", "account.group_account_manager"])
    # Creating the company made admin a member: the other tests' admin stays in A only.
    admin.call("res.users", "write", ids=[admin.uid], vals={"company_ids": [(3, company_b)]})
    _user(admin, f"{MARK}-cashier-a".lower(), company_a,
          ["sales_team.group_sale_salesman", "account.group_account_invoice"])
    owner_b = OdooClient(url, db, f"{MARK}-owner-b".lower(), f"{MARK}-owner-b".lower())
    b_customer = _create(owner_b, "res.partner", {
        "name": f"{MARK} khách B", "company_id": company_b})
    owner_b.call("res.partner", "retail_adjust_points", ids=[b_customer], points=50,
                 reason="Số dư đầu kỳ")
    return SimpleNamespace(
        admin=admin, owner_b=owner_b,
        cashier=OdooClient(url, db, f"{MARK}-cashier-a".lower(), f"{MARK}-cashier-a".lower()),
        company_a=company_a, company_b=company_b, customer=customer, archived=archived,
        order=order, segment=segment, b_customer=b_customer,
        draft=_invoice(admin, customer, 300000, post=False),
        small_draft=_invoice(admin, customer, 50000, post=False),
        posted=_invoice(admin, customer, 200000),
        b_draft=_invoice(owner_b, b_customer, 400000, post=False),
        b_posted=_invoice(owner_b, b_customer, 100000),
        stage=admin.call("crm.stage", "search", domain=[], limit=1)[0],
    )


# ----------------------------------------------------------------------
# What must not change, read back by whoever can read it
# ----------------------------------------------------------------------

def _read(client, model, record_id, fnames):
    wait_for_facts(client.db)
    return client.call(model, "read", ids=[record_id], fields=fnames,
                       context={"active_test": False})


def _count(client, model, domain):
    return client.call(model, "search_count", domain=domain, context={"active_test": False})


def points(name):
    def state(shop):
        partner_id = getattr(shop, name)
        client = shop.owner_b if name.startswith("b_") else shop.admin
        return (_read(client, "res.partner", partner_id, ["retail_loyalty_points",
                                                           "retail_loyalty_points_total"]),
                _count(client, "retail.points.line", [("partner_id", "=", partner_id)]))
    return state


def document(name, model="account.move"):
    def state(shop):
        record_id = getattr(shop, name)
        client = shop.owner_b if name.startswith("b_") else shop.admin
        fnames = ["amount_total", "state", "retail_points_redeemed"] + (
            ["retail_points"] if model == "account.move" else [])
        return _read(client, model, record_id, fnames), points("customer")(shop)
    return state


def customer_facts(shop):
    return _read(shop.admin, "res.partner", shop.customer, FACTS)


def count(model, domain=()):
    return lambda shop: _count(shop.admin, model, list(domain))


def named(model):
    return count(model, [("name", "=like", f"{MARK}-%")])


def company_settings(shop):
    return _read(shop.admin, "res.company", shop.company_a, [
        "retail_points_amount", "retail_point_value", "retail_points_expiry_months",
        "retail_birthday_points", "retail_points_base"])


# ----------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------

Case = namedtuple("Case", "call state refusals")


def adjust(points_, reason="Điều chỉnh", partner="customer"):
    return lambda shop: shop.admin.call(
        "res.partner", "retail_adjust_points", ids=[getattr(shop, partner)], points=points_,
        reason=reason)


def redeem(points_, name="draft", model="account.move", client="admin"):
    return lambda shop: getattr(shop, client).call(
        model, "retail_redeem_points", ids=[getattr(shop, name)], points=points_)


def create(model, vals, client="admin"):
    return lambda shop: _create(getattr(shop, client), model, vals(shop))


def write(model, name, vals):
    return lambda shop: shop.admin.call(model, "write", ids=[getattr(shop, name)],
                                        vals=vals(shop))


def partner(vals):
    return create("res.partner", lambda shop: {"name": f"{MARK}-khách", **vals})


def segment(vals):
    return create("retail.segment", lambda shop: {
        "name": f"{MARK}-phân khúc", "company_id": shop.company_a, **vals})


def statement(vals, client="admin"):
    return create("retail.debt.statement", lambda shop: {
        "partner_id": shop.customer, "company_id": shop.company_a,
        "date_from": "2026-01-01", "date_to": "2026-03-31", **vals(shop)}, client)


def wizard_then(model, vals, method, client="admin", fnames=None):
    """Create a wizard and call its button (or read ``fnames``) in two requests."""
    def call(shop):
        rpc = getattr(shop, client)
        wizard_id = _create(rpc, model, vals(shop))
        if fnames:
            return rpc.call(model, "read", ids=[wizard_id], fields=fnames)
        return rpc.call(model, method, ids=[wizard_id])
    return call


def level(vals):
    def values(shop):
        template = _ref(shop.admin, "crm_retail.mail_template_debt_reminder_first")
        return {"name": f"{MARK}-mức", "company_id": shop.company_a, "days_overdue": 45,
                "mail_template_id": template, **vals}
    return create("retail.debt.reminder.level", values)


U, A, UA = USER_ERROR, ACCESS_ERROR, REFUSED
CASES = {
    # -- retail_adjust_points: types, ranges, overflow, missing and archived customers
    "adjust points as text": Case(adjust("10"), points("customer"), U),
    "adjust points as float": Case(adjust(10.5), points("customer"), U),
    "adjust points as bool": Case(adjust(True), points("customer"), U),
    "adjust points as None": Case(adjust(None), points("customer"), U),
    "adjust zero points": Case(adjust(0), points("customer"), U),
    "adjust int4 max points": Case(adjust(INT4_MAX), points("customer"), U),
    "adjust int4 min points": Case(adjust(-INT4_MAX - 1), points("customer"), U),
    "adjust below the balance": Case(adjust(-1000), points("customer"), U),
    "adjust with a number as reason": Case(adjust(5, 123), points("customer"), U),
    "adjust with a list as reason": Case(adjust(5, ["quà"]), points("customer"), U),
    "adjust with a blank reason": Case(adjust(5, "   "), points("customer"), U),
    "adjust a customer that does not exist": Case(
        lambda shop: shop.admin.call("res.partner", "retail_adjust_points", ids=[NO_SUCH_ID],
                                     points=5, reason="Quà"),
        count("retail.points.line", [("partner_id", "=", NO_SUCH_ID)]), U),
    "adjust an archived customer": Case(adjust(5, partner="archived"), points("archived"), U),
    "adjust zero points through the wizard": Case(
        wizard_then("retail.points.adjust", lambda shop: {
            "partner_id": shop.customer, "points": 0, "reason": "Quà"}, "action_adjust"),
        points("customer"), U),
    # -- retail_redeem_points: ranges, types, documents it cannot apply to
    "redeem zero points": Case(redeem(0), document("draft"), U),
    "redeem negative points": Case(redeem(-5), document("draft"), U),
    "redeem int4 max points": Case(redeem(INT4_MAX), document("draft"), U),
    "redeem points as text": Case(redeem("10"), document("draft"), U),
    "redeem points as float": Case(redeem(10.0), document("draft"), U),
    "redeem points as None": Case(redeem(None), document("draft"), U),
    "redeem on a posted invoice": Case(redeem(10, "posted"), document("posted"), U),
    "redeem more than the balance": Case(redeem(150), document("draft"), U),
    "redeem more than the amount due": Case(redeem(60, "small_draft"),
                                            document("small_draft"), U),
    "redeem on an invoice that does not exist": Case(
        lambda shop: shop.admin.call("account.move", "retail_redeem_points", ids=[NO_SUCH_ID],
                                     points=5),
        points("customer"), U),
    "redeem on another company's invoice": Case(redeem(10, "b_draft", client="cashier"),
                                                document("b_draft"), UA),
    "redeem wizard shows another company's invoice": Case(
        wizard_then("retail.points.redeem", lambda shop: {"move_id": shop.b_draft,
                                                           "points": 10},
                    None, client="cashier", fnames=["partner_id", "points_available",
                                                    "amount_due"]),
        document("b_draft"), UA),
    "redeem points as text on a quotation": Case(redeem("abc", "order", "sale.order"),
                                                 document("order", "sale.order"), U),
    # -- the customer file: codes, birthdays, phones, gender
    "customer code as a number": Case(partner({"ref": 12345}), named("res.partner"), U),
    "customer code as a list": Case(partner({"ref": ["KH1"]}), named("res.partner"), U),
    "customer code written as a number": Case(
        write("res.partner", "customer", lambda shop: {"ref": 777}), customer_facts, U),
    "birthday in the future": Case(
        write("res.partner", "customer", lambda shop: {"retail_birthday": "2999-01-01"}),
        customer_facts, U),
    "birthday as dd/mm/yyyy": Case(partner({"retail_birthday": "31/12/1990"}),
                                   named("res.partner"), U),
    "birthday on 30 February": Case(partner({"retail_birthday": "1990-02-30"}),
                                    named("res.partner"), U),
    "birthday as a number": Case(partner({"retail_birthday": 19900101}), named("res.partner"), U),
    "phone made of words": Case(
        write("res.partner", "customer", lambda shop: {"phone": "gọi tôi đi"}),
        customer_facts, U),
    "phone too short": Case(partner({"phone": "0909"}), named("res.partner"), U),
    "gender not in the list": Case(partner({"retail_gender": "unknown"}), named("res.partner"), U),
    "gender as a number": Case(
        write("res.partner", "customer", lambda shop: {"retail_gender": 1}), customer_facts, U),
    # -- derived facts are nobody's to write
    "write the debt": Case(
        write("res.partner", "customer", lambda shop: {"retail_debt_amount": 123456}),
        customer_facts, U),
    "write the payment status": Case(
        write("res.partner", "customer", lambda shop: {"retail_debt_status": "overdue"}),
        customer_facts, U),
    "write the points balance": Case(
        write("res.partner", "customer", lambda shop: {"retail_loyalty_points": 5000}),
        customer_facts, U),
    "write the total sales": Case(
        write("res.partner", "customer", lambda shop: {"retail_total_sales": 1}),
        customer_facts, U),
    "write the funnel stage": Case(
        write("res.partner", "customer", lambda shop: {"retail_stage_id": shop.stage}),
        customer_facts, U),
    "create a customer with lifetime points": Case(
        partner({"retail_loyalty_points_total": 99}), named("res.partner"), U),
    "write the points of a posted invoice": Case(
        write("account.move", "posted", lambda shop: {"retail_points": 999}),
        document("posted"), U),
    # -- segment rules: domains that do not evaluate or fail in SQL, ranges
    "segment domain failing in SQL": Case(
        segment({"domain": "[('id', 'in', 'abc')]"}), named("retail.segment"), U),
    "segment domain that is not a domain": Case(
        segment({"domain": "not a domain"}), named("retail.segment"), U),
    "segment domain on an unknown field": Case(
        segment({"domain": "[('no_such_field', '=', 1)]"}), named("retail.segment"), U),
    "segment domain with a syntax error": Case(
        segment({"domain": "[('name', 'ilike'"}), named("retail.segment"), U),
    "segment domain dividing by zero": Case(
        segment({"domain": "[('id', '=', 1/0)]"}), named("retail.segment"), U),
    "segment domain with an unknown operator": Case(
        segment({"domain": "[('id', 'between', 5)]"}), named("retail.segment"), U),
    "segment domain failing in SQL, written": Case(
        write("retail.segment", "segment",
              lambda shop: {"domain": "[('id', 'in', 'abc')]"}),
        lambda shop: _read(shop.admin, "retail.segment", shop.segment, ["domain"]), U),
    "segment age range upside down": Case(
        segment({"use_age": True, "age_from": 50, "age_to": 20}), named("retail.segment"), U),
    "segment negative points": Case(
        segment({"use_points": True, "points_min": -5}), named("retail.segment"), U),
    "segment sales over negative days": Case(
        segment({"use_sales": True, "sales_days": -30}), named("retail.segment"), U),
    "segment match not in the list": Case(
        segment({"match": "sometimes", "gender": "male"}), named("retail.segment"), U),
    # -- tiers and company settings
    "tier with a negative threshold": Case(
        create("retail.tier", lambda shop: {"name": f"{MARK}-hạng", "threshold": -1}),
        named("retail.tier"), U),
    "tier with a negative multiplier": Case(
        create("retail.tier", lambda shop: {"name": f"{MARK}-hạng",
                                            "points_multiplier": -2}),
        named("retail.tier"), U),
    "tier threshold as a word": Case(
        create("retail.tier", lambda shop: {"name": f"{MARK}-hạng", "threshold": "many"}),
        named("retail.tier"), U),
    "negative amount per point": Case(
        write("res.company", "company_a", lambda shop: {"retail_points_amount": -1}),
        company_settings, U),
    "negative value of a point": Case(
        write("res.company", "company_a", lambda shop: {"retail_point_value": -1000}),
        company_settings, U),
    "negative expiry": Case(
        write("res.company", "company_a", lambda shop: {"retail_points_expiry_months": -3}),
        company_settings, U),
    "negative birthday points": Case(
        write("res.company", "company_a", lambda shop: {"retail_birthday_points": -10}),
        company_settings, U),
    "points base not in the list": Case(
        write("res.company", "company_a", lambda shop: {"retail_points_base": "bogus"}),
        company_settings, U),
    # -- debt statements, apply payments, aging, reminder levels
    "statement period upside down": Case(
        statement(lambda shop: {"date_from": "2026-03-31", "date_to": "2026-01-01"}),
        count("retail.debt.statement"), U),
    "statement of a customer that does not exist": Case(
        statement(lambda shop: {"partner_id": NO_SUCH_ID}), count("retail.debt.statement"), U),
    "statement date as words": Case(
        statement(lambda shop: {"date_from": "last month"}), count("retail.debt.statement"),
        U),
    "statement of another company": Case(
        statement(lambda shop: {"company_id": shop.company_b}, client="cashier"),
        count("retail.debt.statement"), UA),
    "bulk statements period upside down": Case(
        create("retail.debt.statement.send", lambda shop: {
            "partner_ids": [(6, 0, [shop.customer])], "date_from": "2026-03-31",
            "date_to": "2026-01-01"}),
        count("retail.debt.statement.send"), U),
    "aging date as a word": Case(
        create("retail.debt.aging.wizard", lambda shop: {"date": "yesterday"}),
        count("retail.debt.aging.wizard"), U),
    "apply payments of another company's customer": Case(
        lambda shop: shop.cashier.call("res.partner", "action_retail_apply_payments",
                                       ids=[shop.b_customer]),
        count("retail.debt.reconcile"), UA),
    "apply payments wizard for another company": Case(
        create("retail.debt.reconcile", lambda shop: {
            "partner_id": shop.b_customer, "company_id": shop.company_b}, client="cashier"),
        count("retail.debt.reconcile"), UA),
    "reminder level at 0 days": Case(level({"days_overdue": 0}),
                                     named("retail.debt.reminder.level"), U),
    "reminder level at negative days": Case(level({"days_overdue": -5}),
                                            named("retail.debt.reminder.level"), U),
    "reminder level days as a word": Case(level({"days_overdue": "thirty"}),
                                          named("retail.debt.reminder.level"), U),
    "reminder level for an accountant not chosen": Case(
        level({"activity_accountant": True}), named("retail.debt.reminder.level"), U),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_cleanly_and_saves_nothing(shop, name):
    case = CASES[name]
    before = case.state(shop)
    with pytest.raises(ApiError) as caught:
        case.call(shop)
    error = caught.value
    assert error.name in case.refusals, (
        f"{name}: {error.status} {error.name}, expected one of {sorted(case.refusals)}:\n"
        f"{error.message[-1500:]}\n{error.debug[-1500:]}")
    assert "Traceback" not in error.message, error.message[-1500:]
    assert case.state(shop) == before, f"{name}: refused, but something was saved"


def test_enough_cases():
    assert len(CASES) >= 40


# ----------------------------------------------------------------------
# The legacy XML-RPC endpoint (deprecated in Odoo 19, still served): the same refusals
# arrive as faults with Odoo's codes, never as a traceback.
# ----------------------------------------------------------------------

FAULT_CODES = {frozenset(USER_ERROR): {2}, frozenset(ACCESS_ERROR): {4},
               frozenset(REFUSED): {2, 4}}


class XmlRpcClient:
    """A user of the shop over /xmlrpc/2, with their password."""

    def __init__(self, url, db, login, password):
        self.db, self.password = db, password
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.uid = common.authenticate(db, login, password, {})
        assert self.uid, f"cannot log in as {login}"
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def execute(self, model, method, *args):
        return self.models.execute_kw(self.db, self.uid, self.password, model, method,
                                      list(args), {})


# Cases of CASES, as (user, model, method, positional arguments): ids first, then the
# method's parameters in order.
XMLRPC_CASES = {
    "adjust zero points": lambda shop: (
        "admin", "res.partner", "retail_adjust_points", [shop.customer], 0, "Quà"),
    "birthday on 30 February": lambda shop: (
        "admin", "res.partner", "create", [{"name": f"{MARK}-khách",
                                            "retail_birthday": "1990-02-30"}]),
    "apply payments of another company's customer": lambda shop: (
        "cashier", "res.partner", "action_retail_apply_payments", [shop.b_customer]),
}


@pytest.fixture(scope="module")
def xmlrpc_users(odoo_server, shop):
    url, db = odoo_server
    cashier = f"{MARK}-cashier-a".lower()
    return {"admin": XmlRpcClient(url, db, "admin", "admin"),
            "cashier": XmlRpcClient(url, db, cashier, cashier)}


@pytest.mark.parametrize("name", list(XMLRPC_CASES))
def test_bad_input_over_xmlrpc_is_a_clean_fault(shop, xmlrpc_users, name):
    case = CASES[name]
    before = case.state(shop)
    user, *call = XMLRPC_CASES[name](shop)
    with pytest.raises(xmlrpc.client.Fault) as caught:
        xmlrpc_users[user].execute(*call)
    fault = caught.value
    assert fault.faultCode in FAULT_CODES[frozenset(case.refusals)], (
        f"{name}: fault code {fault.faultCode} (2 UserError/ValidationError/MissingError, "
        f"4 AccessError, 1 anything else):\n{fault.faultString[-1500:]}")
    assert "Traceback" not in fault.faultString, fault.faultString[-1500:]
    assert case.state(shop) == before, f"{name}: refused, but something was saved"
