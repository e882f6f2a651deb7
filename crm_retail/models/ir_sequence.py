import re

from odoo import models
from odoo.tools import SQL


class IrSequence(models.Model):
    _inherit = "ir.sequence"

    def _retail_next_codes(self, count):
        """The next ``count`` values of this sequence: one query for a standard
        (PostgreSQL) sequence instead of one per value."""
        self.ensure_one()
        if self.implementation != "standard":
            return [self._next_do() for _index in range(count)]
        self.env.cr.execute(SQL(
            "SELECT nextval(%s) FROM generate_series(1, %s)",
            f"ir_sequence_{self.id:03d}",
            count,
        ))
        return [self.get_next_char(number) for (number,) in self.env.cr.fetchall()]

    def _retail_skip_past(self, codes):
        """Move this sequence past the highest of ``codes`` written in its format."""
        self.ensure_one()
        prefix, suffix = self._get_prefix_suffix()
        pattern = re.compile(rf"^{re.escape(prefix)}(\d+){re.escape(suffix)}$")
        numbers = [int(match[1]) for code in codes if (match := pattern.match(code))]
        if not numbers or max(numbers) < self.number_next_actual:
            return
        if self.implementation == "standard":
            self.env.cr.execute(SQL(
                "SELECT setval(%s, GREATEST(%s, (SELECT last_value FROM %s)))",
                f"ir_sequence_{self.id:03d}",
                max(numbers),
                SQL.identifier(f"ir_sequence_{self.id:03d}"),
            ))
            self.invalidate_recordset(["number_next_actual"])
        else:
            self.number_next = max(numbers) + 1
