from . import crm_retail_funnel_report
