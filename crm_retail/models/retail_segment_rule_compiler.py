"""Customer segments: a segment's rule compiled to SQL, one condition over the facts of a
customer (the row alias ``f`` of :mod:`.retail_segment_facts`).

Plain functions of the segment record: the compiler reads the rule and builds SQL, it
writes nothing and keeps no state. The segment model calls it through
``retail.segment._rule_condition``, the hook to override for a new kind of condition."""

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools import SQL
from odoo.tools.safe_eval import datetime, dateutil, safe_eval, time


def rule_domain(segment):
    """The segment's extra Odoo domain, evaluated; None when empty. Raises a
    ValidationError when it does not evaluate or names unknown fields."""
    segment.ensure_one()
    env = segment.env
    try:
        domain = Domain(safe_eval(segment.domain or "[]", {
            "datetime": datetime, "dateutil": dateutil, "time": time,
            "relativedelta": relativedelta, "uid": env.uid,
            "context_today": lambda: fields.Date.context_today(segment),
        }))
        if domain.is_true():
            return None
        # Evaluated against the customers of the segment's company, as the rule runs.
        env["res.partner"].sudo().with_company(segment.company_id)._search(domain)
    except (ValueError, SyntaxError, TypeError, KeyError, NameError,
            ZeroDivisionError) as error:  # safe_eval lets a 1/0 through unwrapped
        raise ValidationError(env._(
            "The other conditions of the segment %(segment)s are not a valid filter on "
            "contacts: %(error)s", segment=segment.display_name or segment.name, error=error,
        )) from error
    return domain


def _range(column, low, high):
    """``low <= column < high``; a high bound of 0 means none."""
    condition = SQL("%s >= %s", column, low)
    if high:
        condition = SQL("%s AND %s < %s", condition, column, high)
    return condition


def _window_column(name, days):
    return SQL.identifier("f", f"{name}_{days}d" if days else name)


def rule_conditions(segment, today):
    """The checked conditions of the segment's rule, each an SQL condition on the facts."""
    segment.ensure_one()
    conditions = []
    if segment.use_age:
        # Age in whole years today: born on or before today's date that many years ago
        # (PostgreSQL and dateutil agree: a 29 February birthday counts from 1 March in
        # other years).
        condition = SQL("f.birthday <= %s", today - relativedelta(years=segment.age_from))
        if segment.age_to:
            condition = SQL("%s AND f.birthday > %s", condition,
                            today - relativedelta(years=segment.age_to))
        conditions.append(condition)
    if segment.gender:
        conditions.append(SQL("f.gender = %s", segment.gender))
    if segment.state_ids:
        conditions.append(SQL("f.state_id = ANY(%s)", segment.state_ids.ids))
    if segment.use_sales:
        conditions.append(_range(
            _window_column("sales", segment.sales_days), segment.sales_min, segment.sales_max))
    if segment.use_purchases:
        conditions.append(_range(
            _window_column("purchases", segment.purchase_days),
            segment.purchase_min, segment.purchase_max))
    if segment.use_recency:
        # Days since the last purchase: at least min, fewer than max.
        condition = SQL("f.last_purchase <= %s",
                        today - relativedelta(days=segment.recency_min))
        if segment.recency_max:
            condition = SQL("%s AND f.last_purchase > %s", condition,
                            today - relativedelta(days=segment.recency_max))
        conditions.append(condition)
    if segment.never_bought:
        conditions.append(SQL("f.purchases = 0"))
    if segment.rfm_type:
        conditions.append(SQL("f.rfm_type = %s", segment.rfm_type))
    if segment.use_debt:
        conditions.append(_range(SQL("f.debt"), segment.debt_min, segment.debt_max))
    if segment.debt_status == "in_debt":
        conditions.append(SQL("f.debt_status IN ('owes', 'overdue')"))
    elif segment.debt_status:
        conditions.append(SQL("f.debt_status = %s", segment.debt_status))
    if segment.use_points:
        conditions.append(_range(SQL("f.points"), segment.points_min, segment.points_max))
    if segment.tier_ids:
        conditions.append(SQL("f.tier_id = ANY(%s)", segment.tier_ids.ids))
    domain = rule_domain(segment)
    if domain is not None:
        partners = segment.env["res.partner"].sudo().with_company(segment.company_id)
        conditions.append(SQL("f.partner_id IN %s", partners._search(domain).subselect()))
    return conditions


def rule_condition(conditions, match):
    """The rule's ``conditions`` joined as ``match`` says ("any": OR, else AND) into one
    SQL condition; None without any."""
    if not conditions:
        return None
    joiner = SQL(" OR ") if match == "any" else SQL(" AND ")
    return SQL("(%s)", joiner.join(SQL("(%s)", c) for c in conditions))


def facts_windows(segments):
    """The day counts the sales and purchase conditions of these segments look back: the
    ``sales_<N>d`` and ``purchases_<N>d`` columns their facts need."""
    return sorted(
        {s.sales_days for s in segments if s.use_sales and s.sales_days}
        | {s.purchase_days for s in segments if s.use_purchases and s.purchase_days})
