import inspect
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

# Models the addon owns: their own fields and methods need no prefix.
OWN_MODELS = ("retail.", "crm.retail.", "report.crm_retail.")


@tagged("post_install", "-at_install")
class TestPrefixRule(TransactionCase):
    """CONTRIBUTING.md: what the addon adds to a model it does not own says ``retail``."""

    def _unprefixed(self):
        found = []
        for name in self.env.registry:
            if name.startswith(OWN_MODELS):
                continue
            model = self.env[name]
            found += [
                f"field {name}.{field_name}"
                for field_name, field in model._fields.items()
                if field._modules[:1] == ("crm_retail",) and not field.inherited
                and not field_name.startswith("retail_")
            ]
            mro = type(model).__mro__
            for cls in mro:
                if getattr(cls, "_module", None) != "crm_retail":
                    continue
                for attr, value in vars(cls).items():
                    if not inspect.isfunction(value) or attr.startswith("__") or "retail" in attr:
                        continue
                    # An override of a method defined outside the addon keeps its name.
                    if not any(attr in vars(other) for other in mro
                               if getattr(other, "_module", "crm_retail") != "crm_retail"):
                        found.append(f"method {name}.{attr}")
        return sorted(set(found))

    def test_core_models_carry_the_prefix(self):
        self.assertEqual(self._unprefixed(), [])

    def test_the_check_finds_unprefixed_names(self):
        """The check itself: a field and a method the addon would add to customers without
        the prefix are found, an override of Odoo's is not."""
        Partner = type(self.env["res.partner"])
        ours = next(cls for cls in Partner.__mro__ if getattr(cls, "_module", None) == "crm_retail")
        field = Partner._fields["retail_gender"]
        with patch.object(Partner, "_fields", {**Partner._fields, "gender": field}), \
                patch.object(ours, "_refresh_tiers", lambda self: None, create=True), \
                patch.object(ours, "name_create", lambda self, name: None, create=True):
            found = self._unprefixed()
        self.assertIn("field res.partner.gender", found)
        self.assertIn("method res.partner._refresh_tiers", found)
        self.assertNotIn("method res.partner.name_create", found)
