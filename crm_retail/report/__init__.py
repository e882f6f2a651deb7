from . import crm_retail_funnel_report
from . import retail_debt_aging_report
from . import retail_debt_statement_report
