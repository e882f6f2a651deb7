from . import crm_retail_funnel_report
from . import retail_debt_aging_report
from . import retail_debt_history
from . import retail_debt_statement_report
from . import retail_segment_report
from . import retail_segment_pareto_report
