from . import ir_sequence
from . import res_company
from . import res_partner
from . import res_users
