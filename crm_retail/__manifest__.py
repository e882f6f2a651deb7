{
    "name": "Retail CRM",
    "summary": "Retail customer file, loyalty, debt, segments and a seven-stage "
    "pipeline on Odoo's own sales, invoicing and CRM",
    "version": "19.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/crm-retail/crm_retail",
    "author": "crm_retail developers",
    "license": "LGPL-3",
    "depends": ["crm", "sale_management", "account", "mail", "contacts"],
    "external_dependencies": {"python": ["phonenumbers"]},
    "data": [
        "security/crm_retail_security.xml",
        "data/ir_sequence_data.xml",
        "views/res_partner_views.xml",
    ],
    "post_init_hook": "post_init_hook",
    "installable": True,
    "application": False,
}
