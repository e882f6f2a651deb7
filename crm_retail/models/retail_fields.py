"""What the customer facts share: the derived fields and their guard, who may read
them, and the sales documents they follow."""

from odoo.exceptions import UserError

# Facts only the engine writes, as superuser, from the documents they derive from; a
# user's value for one of them is refused (see _retail_check_derived_fields), with what
# to do instead.
DERIVED_FIELDS = {
    "retail_loyalty_points": "points",
    "retail_loyalty_points_total": "points",
    "retail_loyalty_tier_id": "points",
    "retail_total_sales": "sales",
    "retail_purchase_count": "sales",
    "retail_last_purchase_date": "sales",
    "retail_stage_id": "stage",
    "retail_debt_amount": "debt",
    "retail_debt_overdue_amount": "debt",
    "retail_debt_overdue_days": "debt",
    "retail_debt_status": "debt",
    "retail_birthday_greeted_year": "care",
    "retail_thank_you_date": "care",
    "retail_followup_date": "care",
}
DEBT_FIELDS = [fname for fname, fact in DERIVED_FIELDS.items() if fact == "debt"]
# Who may read them, the way Odoo guards a customer's credit: debt for invoicing and
# sales users, points, tier, statistics and funnel stage for Retail CRM and invoicing users.
DEBT_READERS = ("account.group_account_invoice,account.group_account_readonly,"
                "sales_team.group_sale_salesman")
LOYALTY_READERS = "crm_retail.group_crm_retail_user,account.group_account_invoice"

# Posted sales documents that make the purchase statistics.
SALE_MOVE_TYPES = ("out_invoice", "out_refund")


def without_derived(defaults, derived_fields):
    """Default values less the derived facts, which have none to give."""
    return {fname: value for fname, value in defaults.items() if fname not in derived_fields}


def check_derived_fields(model, names, derived):
    """Refuse, unless the superuser writes, values for the facts in ``derived`` (field
    name: what the fact follows) among the field ``names`` given to create or write."""
    names = [name for name in names if name in derived]
    if not names or model.env.su:
        return
    env = model.env
    advice = {
        "points": env._("Points and tiers follow the points history: a manager records a "
                        "points adjustment."),
        "sales": env._("Purchase statistics follow the posted invoices and credit notes."),
        "stage": env._("The funnel stage follows the customer's opportunity: move the opportunity "
                       "in the pipeline."),
        "debt": env._("Debt figures follow the journal items: post or reconcile invoices, "
                      "payments and credit notes."),
        "care": env._("Customer care marks are set when the greeting, thank-you or "
                      "follow-up is sent."),
        "invoice_points": env._("The points of an invoice are counted when it is posted, "
                                "from its amount."),
        "funnel": env._("The funnel step of an opportunity follows its stage and the customer's "
                        "purchases: move the opportunity instead."),
    }
    raise UserError(env._(
        "%(fields)s cannot be set by hand: Retail CRM computes them. %(advice)s",
        fields=", ".join(f"{model._fields[name]._description_string(env)} ({name})"
                         for name in names),
        advice=" ".join(dict.fromkeys(advice[derived[name]] for name in names)),
    ))
