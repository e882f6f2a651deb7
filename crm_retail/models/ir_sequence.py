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
