from . import retail_input_check
from . import retail_sql_facts
# The facts layer first: the funnel and the segments subscribe to it.
from . import retail_customer_facts
from . import retail_points_discount_line_mixin
from . import retail_points_redeem_mixin
from . import retail_document_customer_mixin
# The write() overrides of account.move and sale.order run from the last imported to the
# first: debt and statistics are marked, then points synced, then the funnel moved.
from . import account_move_debt
from . import account_move
from . import account_move_funnel
from . import account_move_line
from . import account_partial_reconcile
from . import crm_lead
from . import crm_stage
from . import ir_sequence
from . import res_company
from . import res_config_settings
from . import res_partner
from . import res_partner_statistics
from . import res_partner_loyalty
from . import res_partner_debt
from . import res_partner_funnel
from . import res_partner_care
from . import res_users
from . import retail_customer_care
from . import retail_debt_reminder
from . import retail_debt_reminder_level
from . import retail_points_line
from . import retail_segment
from . import retail_segment_member
from . import retail_segment_events
from . import retail_tier
from . import sale_order
from . import sale_order_credit_limit
from . import sale_order_funnel
from . import sale_order_line
