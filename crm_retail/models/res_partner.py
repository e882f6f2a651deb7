"""The customer's identity: code, phone, duplicates, gender and birthday, and how
customers are found and named."""

import re
from collections import defaultdict

import phonenumbers

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from odoo.addons.phone_validation.models.mail_thread_phone import PHONE_REGEX_PATTERN

from .retail_fields import DERIVED_FIELDS, check_derived_fields, without_derived
from .retail_input_check import check_field_values

# What a phone may be written with: digits and the usual separators, an optional leading +.
PHONE_ALLOWED = re.compile(r"^\+?[\d\s().\-/]+$")
PHONE_MIN_DIGITS = 8
PHONE_MAX_DIGITS = 15  # the E.164 maximum
# A search term that is mostly digits is taken as a phone number.
PHONE_LIKE_TERM = re.compile(r"^[\d\s().+\-/]{6,}$")


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Odoo's own E.164 form of the phone (phone_validation), indexed for the phone search.
    phone_sanitized = fields.Char(index="btree_not_null")
    # The customer code (mã khách hàng) is Odoo's own reference field; the views call
    # it "Customer Code" (relabelling the field itself would lose to base's translation).
    ref = fields.Char(tracking=True, copy=False)
    retail_gender = fields.Selection(
        [("male", "Male"), ("female", "Female"), ("other", "Other")],
        string="Gender", tracking=True,
    )
    retail_birthday = fields.Date(string="Birthday", tracking=True)
    retail_birthday_month = fields.Selection(
        [(str(month), name) for month, name in enumerate(
            ["January", "February", "March", "April", "May", "June", "July",
             "August", "September", "October", "November", "December"], start=1)],
        string="Birthday Month",
        compute="_compute_retail_birthday_month",
        store=True,
        precompute=True,
    )
    retail_same_phone_partner_id = fields.Many2one(
        "res.partner",
        string="Customer with the same phone",
        compute="_compute_retail_duplicates",
    )
    retail_same_email_partner_id = fields.Many2one(
        "res.partner",
        string="Customer with the same email",
        compute="_compute_retail_duplicates",
    )

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("retail_birthday")
    def _check_retail_birthday(self):
        today = fields.Date.context_today(self)
        for partner in self:
            if partner.retail_birthday and partner.retail_birthday > today:
                raise ValidationError(self.env._(
                    "The birthday of %(customer)s (%(birthday)s) is in the future.",
                    customer=partner.display_name,
                    birthday=partner.retail_birthday,
                ))

    @api.constrains("phone")
    def _check_retail_phone(self):
        for partner in self:
            phone = (partner.phone or "").strip()
            if not phone:
                continue
            digits = sum(char.isdigit() for char in phone)
            if (
                not PHONE_ALLOWED.match(phone)
                or not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS
            ):
                raise ValidationError(self.env._(
                    "The phone number “%(phone)s” of %(customer)s is not valid: use "
                    "%(min)s to %(max)s digits, with spaces, dots, dashes or brackets "
                    "and an optional leading +.",
                    phone=phone,
                    customer=partner.display_name,
                    min=PHONE_MIN_DIGITS,
                    max=PHONE_MAX_DIGITS,
                ))

    @api.constrains("ref", "company_id")
    def _check_retail_ref_unique(self):
        """Codes are unique per company; checked on new values only, so a database
        whose partners already share references still installs."""
        # Codes drawn from the sequence are unique by construction.
        generated = self.env.context.get("crm_retail_generated_codes") or ()
        partners = self.filtered(lambda partner: partner.ref and partner.ref not in generated)
        if not partners:
            return
        holders = self.with_context(active_test=False).sudo()._read_group(
            [("ref", "in", partners.mapped("ref"))],
            groupby=["ref", "company_id"],
            aggregates=["id:recordset"],
        )
        holders_by_key = {(ref, company.id): records for ref, company, records in holders}
        for partner in partners:
            others = holders_by_key.get((partner.ref, partner.company_id.id), self.browse())
            others -= partner
            if others:
                raise ValidationError(self.env._(
                    "The customer code %(code)s is already used by %(customer)s.",
                    code=partner.ref,
                    customer=others[0].display_name,
                ))

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends("retail_birthday")
    def _compute_retail_birthday_month(self):
        for partner in self:
            birthday = partner.retail_birthday
            partner.retail_birthday_month = str(birthday.month) if birthday else False

    @api.depends("phone", "email", "company_id", "country_id")
    def _compute_retail_duplicates(self):
        """Warn, never block: another customer of the same company has this phone or email."""
        Partner = self.env["res.partner"].with_context(active_test=False).sudo()
        customers = self.filtered(lambda partner: not partner.parent_id)
        # The holders of all the emails at once, in Odoo's order for customers.
        emails = set(customers.mapped("email_normalized")) - {False}
        email_holders = defaultdict(list)
        if emails:
            holders = Partner.search_fetch(
                Domain("parent_id", "=", False) & Domain("email_normalized", "in", list(emails)),
                ["email_normalized", "company_id"],
            )
            for holder in holders:
                email_holders[holder.email_normalized].append(holder)
        for partner in self:
            same_phone = same_email = Partner.browse()
            if partner in customers:
                companies = (False, partner.company_id.id) if partner.company_id else None
                same_email = next((
                    holder for holder in email_holders.get(partner.email_normalized, ())
                    if holder.id != partner._origin.id
                    and (companies is None or holder.company_id.id in companies)
                ), same_email)
                phone_domain = partner._retail_phone_domain(partner.phone)
                if phone_domain is not None:
                    domain = Domain("parent_id", "=", False) & phone_domain
                    if companies is not None:
                        domain &= Domain("company_id", "in", list(companies))
                    if partner._origin.id:
                        domain &= Domain("id", "!=", partner._origin.id)
                    same_phone = Partner.search(domain, limit=1)
            partner.retail_same_phone_partner_id = same_phone
            partner.retail_same_email_partner_id = same_email

    @api.onchange("phone", "country_id", "company_id")
    def _onchange_phone_validation(self):
        """Odoo writes every number internationally ("+84 901 234 567"); numbers of the
        company's country keep the national form shops write ("0901 234 567")."""
        result = super()._onchange_phone_validation()
        for partner in self:
            country = (partner.company_id or self.env.company).country_id
            if partner.phone and country:
                partner.phone = partner._phone_format(
                    fname="phone", country=country, force_format="NATIONAL") or partner.phone
        return result

    @api.depends("ref", "phone")
    @api.depends_context("retail_show_code_phone")
    def _compute_display_name(self):
        """With ``retail_show_code_phone`` (set on the customer field of invoices and
        quotations), label customers "[code] name · phone" so that namesakes differ."""
        super()._compute_display_name()
        if not self.env.context.get("retail_show_code_phone"):
            return
        formatted = self.env.context.get("formatted_display_name")
        for partner in self:
            if not (partner.ref or partner.phone):
                continue
            # Only the first line: Odoo puts the address and tax id on the next ones.
            first, newline, rest = partner.display_name.partition("\n")
            if partner.ref:
                first = f"[{partner.ref}] {first}"
            if partner.phone:
                # The dropdown's markup (odoomark) shows --text-- muted.
                phone = f"\t --{partner.phone}--" if formatted else f"· {partner.phone}"
                first = f"{first} {phone}"
            partner.display_name = first + newline + rest

    # ------------------------------------------------------------------
    # Search: a phone number in any format finds the customer
    # ------------------------------------------------------------------

    def _search_phone_mobile_search(self, operator, value):
        domain = super()._search_phone_mobile_search(operator, value)
        if operator in ("like", "ilike", "=", "=like", "=ilike"):
            phone_domain = self._retail_phone_domain(value)
            if phone_domain is not None:
                domain = Domain(domain) | phone_domain
        return domain

    @api.model
    def _search_display_name(self, operator, value):
        if operator in ("like", "ilike", "=", "=like", "=ilike"):
            phone_domain = self._retail_phone_domain(value)
            if phone_domain is not None:
                # A term made of digits and separators: the phone in any format, or exactly
                # a code or tax id, all indexed. Odoo's substring match on five columns would
                # scan the whole table (about 90 ms at 100,000 customers) to find nothing.
                term = value.strip()
                return phone_domain | Domain.OR(
                    Domain(field, "=", term) for field in ("ref", "vat", "company_registry"))
        return super()._search_display_name(operator, value)

    # ------------------------------------------------------------------
    # CRUD: automatic customer code
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._retail_check_derived_fields(vals)
            self._retail_check_values(vals)
            self._retail_clean_ref(vals)
        self._retail_keep_sequence_ahead([vals["ref"] for vals in vals_list if vals.get("ref")])
        generated = self._retail_fill_customer_codes(vals_list)
        partners = super(
            ResPartner, self.with_context(crm_retail_generated_codes=generated)
        ).create(vals_list)
        return partners.with_env(self.env)

    @api.model
    def default_get(self, fields):  # pylint: disable=redefined-outer-name
        # Facts have no default to give: not from the context (a list grouped by tier
        # quick-creates with the tier as default), nor from a user's own defaults; and a
        # new user's partner, created with the user's defaults, must not carry them into
        # create. Debt status still reads "No debt" from its company fallback.
        return without_derived(super().default_get(fields), DERIVED_FIELDS)

    def _retail_check_derived_fields(self, vals):
        check_derived_fields(self, vals, DERIVED_FIELDS)

    def _retail_check_values(self, vals):
        """The fields the addon adds, by type (the code has its own check below)."""
        check_field_values(self, vals, ("retail_gender", "retail_birthday", "retail_referrer_id",
                                        "retail_no_reminder", "retail_no_statement"))

    def _retail_clean_ref(self, vals):
        """Strip the customer code given in ``vals``; anything but text is refused."""
        ref = vals.get("ref")
        if ref is None or ref is False:
            return
        if not isinstance(ref, str):
            raise ValidationError(self.env._(
                "The customer code must be text, for example KH000123."))
        vals["ref"] = ref.strip()

    def write(self, vals):
        self._retail_check_derived_fields(vals)
        self._retail_check_values(vals)
        self._retail_clean_ref(vals)
        if vals.get("ref"):
            self._retail_keep_sequence_ahead([vals["ref"]])
        return super().write(vals)

    def _track_prepare(self, fields_iter):
        # Odoo raises the customers' ranks right after each posting commits, one customer
        # at a time, without prefetching fields: reading the tracked fields' values would
        # cost a query per field (the customer file tracks five more). One query for all
        # of them, for the customers of the batch (the records' prefetch set): the next
        # customers find them in the cache.
        if not self.env.context.get("prefetch_fields", True):
            fnames = self._track_get_fields().intersection(fields_iter)
            if fnames:
                self.browse(self._prefetch_ids).filtered("id").fetch(fnames)
        return super()._track_prepare(fields_iter)

    @api.model
    def _retail_code_sequence(self):
        # The xmlid lookup is cached (env.ref would also check existence: a query).
        sequence_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "crm_retail.seq_customer_code", raise_if_not_found=False
        )
        return self.env["ir.sequence"].browse(sequence_id)

    @api.model
    def _retail_fill_customer_codes(self, vals_list):
        """Put the next codes into the values of new top-level partners that have none,
        before the insert: one sequence query per batch, nothing written twice."""
        if self.env.context.get("crm_retail_no_customer_code"):
            return frozenset()
        default_parent = self.env.context.get("default_parent_id")
        needing = [
            vals for vals in vals_list
            if not vals.get("ref") and not vals.get("parent_id", default_parent)
        ]
        sequence = self._retail_code_sequence()
        if not needing or not sequence:
            return frozenset()
        codes = sequence.sudo()._retail_next_codes(len(needing))
        for vals, code in zip(needing, codes, strict=True):
            vals["ref"] = code
        return frozenset(codes)

    @api.model
    def _retail_keep_sequence_ahead(self, codes):
        """A code typed by hand in the sequence's own format (an import from another
        shop software, say) moves the sequence past it, so automatic codes never
        collide with codes already given."""
        if codes and (sequence := self._retail_code_sequence()):
            sequence.sudo()._retail_skip_past(codes)

    # ------------------------------------------------------------------
    # Business methods: the phone search
    # ------------------------------------------------------------------

    @api.model
    def _retail_phone_domain(self, term):
        """Domain finding a phone number typed in any local or international format;
        None when the term is not a phone number.

        The term is read as a number of the company's country (Vietnam when unset),
        and its E.164, national and as-typed digits are matched exactly against
        Odoo's own phone search columns (indexed), so that "090 123 4567",
        "+84 90 123 4567" and "0901234567" find each other whichever was stored."""
        if not isinstance(term, str) or not PHONE_LIKE_TERM.match(term.strip()):
            return None
        term = term.strip()
        candidates = {re.sub(PHONE_REGEX_PATTERN, "", term)}
        e164 = None
        try:
            number = phonenumbers.parse(term, self.env.company.country_id.code or "VN")
        except phonenumbers.NumberParseException:
            number = None
        if number:
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            national = phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.NATIONAL)
            candidates |= {e164, re.sub(r"\D", "", national)}
        self.flush_model(["phone", "phone_sanitized"])
        # The same expression as Odoo's phone search index (phone_validation), so
        # both sides of the OR are index scans.
        self.env.cr.execute(SQL(
            """
            SELECT id FROM res_partner
             WHERE phone_sanitized = %s
                OR (phone IS NOT NULL
                    AND regexp_replace(phone::text, %s::text, ''::text, 'g'::text) IN %s)
            """,
            e164, PHONE_REGEX_PATTERN, tuple(candidates),
        ))
        return Domain("id", "in", [row[0] for row in self.env.cr.fetchall()])
