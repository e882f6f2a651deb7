from . import base_partner_merge_automatic_wizard
from . import retail_points_adjust
from . import retail_points_redeem
