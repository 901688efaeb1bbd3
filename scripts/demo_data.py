# Demonstration scenario, run with `odoo-bin shell` (which provides `env`); idempotent.
# A customer with three orders: paid and delivered; partially delivered and paid; paid in EUR.
# A portal customer whose paid order waits on a cancellation request, and an order paid online
# through the simulated provider, and a dozen orders of a cancelled promotion to cancel as a
# background batch (added to older demo databases too). With the purchase addon installed, a vendor
# whose purchase order is received, billed and paid.
from odoo import Command, fields

MARK = "ocr-demo"
PORTAL_MARK = "ocr-demo-portal"
ONLINE_REF = "paid online (demo provider)"
BULK_REF = "promotion cancelled"
BULK_COUNT = 12
VENDOR_MARK = "ocr-demo-vendor"
VENDOR_NAME = "Demo Vendor (paid PO to cancel)"


def make_order(customer, lines, pricelist=None):
    order = env["sale.order"].create(  # noqa: F821 (provided by odoo-bin shell)
        {
            "partner_id": customer.id,
            "pricelist_id": pricelist.id if pricelist else False,
            "order_line": [Command.create({"product_id": p.id, "product_uom_qty": q}) for p, q in lines],
        }
    )
    order.action_confirm()
    return order


def deliver(order, quantities=None):
    picking = order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
    for move in picking.move_ids:
        move.quantity = (quantities or {}).get(move.product_id, move.product_uom_qty)
    picking.move_ids.picked = True
    picking.with_context(skip_backorder=True).button_validate()  # a partial one leaves a backorder


def invoice_and_pay(order, currency=None):
    invoice = order._create_invoices()
    invoice.action_post()
    pay(invoice, currency)


def pay(invoice, currency=None):
    journal = env["account.journal"].search(  # noqa: F821
        [("type", "=", "bank"), ("company_id", "=", invoice.company_id.id)], limit=1
    )
    vals = {"journal_id": journal.id, "payment_date": fields.Date.today()}
    if currency:
        vals["currency_id"] = currency.id
    env["account.payment.register"].with_context(  # noqa: F821
        active_model="account.move", active_ids=invoice.ids
    ).create(vals)._create_payments()


def paid_online(env, chair):
    """An order paid online through Odoo's simulated provider (payment_demo): cancelled with a
    refund, the money goes back through the provider."""
    if "payment.provider" not in env or env["sale.order"].search_count([("client_order_ref", "=", ONLINE_REF)]):
        return
    if not env["ir.module.module"].search([("name", "=", "payment_demo"), ("state", "=", "installed")]):
        return
    company = env.company
    journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
    provider = env.ref("payment.payment_provider_demo")
    provider.write({"state": "test", "journal_id": journal.id})
    customer = env["res.partner"].search([("ref", "=", MARK)], limit=1)
    order = make_order(customer, [(chair, 1)])
    order.client_order_ref = ONLINE_REF
    deliver(order)
    invoice = order._create_invoices()
    invoice.action_post()
    payment = (
        env["account.payment.register"]
        .with_context(active_model="account.move", active_ids=invoice.ids)
        .create({"journal_id": journal.id})
        ._create_payments()
    )
    transaction = env["payment.transaction"].create(
        {
            "provider_id": provider.id,
            "payment_method_id": provider.payment_method_ids[:1].id,
            "amount": payment.amount,
            "currency_id": payment.currency_id.id,
            "partner_id": customer.id,
            "invoice_ids": [Command.set(invoice.ids)],
            "reference": f"demo-online-{order.name}",
        }
    )
    transaction._set_done()
    transaction.is_post_processed = True
    payment.payment_transaction_id = transaction
    env.cr.commit()
    print(f"Online payment loaded: {order.name}, paid through {provider.name}.")


def portal_request(env, chair):
    """A portal customer who asked to cancel a paid order: the request waits for a member.
    (Left out with versions of the addon before portal requests, as the upgrade check installs.)"""
    if "sale.order.cancel.reconciled.request" not in env or env["res.partner"].search_count(
        [("ref", "=", PORTAL_MARK)]
    ):
        return
    env.company.cancel_request_portal = True
    env.ref("order_cancel_reconciled.reason_customer_request").show_on_portal = True
    env.ref("order_cancel_reconciled.reason_order_error").show_on_portal = True
    customer = env["res.partner"].create(
        {"name": "Gemini Furniture (demo)", "ref": PORTAL_MARK, "email": "gemini@example.com"}
    )
    env["res.users"].create(
        {
            "name": customer.name,
            "login": "portal_demo",
            "password": "portal_demo",
            "partner_id": customer.id,
            "groups_id": [Command.set([env.ref("base.group_portal").id])],
        }
    )
    order = make_order(customer, [(chair, 2)])
    order.client_order_ref = "cancellation requested on the portal"
    deliver(order)
    invoice_and_pay(order)
    reason = env.ref("order_cancel_reconciled.reason_order_error")
    env["sale.order.cancel.reconciled.request"].sudo()._request_from_portal(order, reason, "Ordered twice by mistake")
    env.cr.commit()
    print(f"Portal request loaded: {order.name} for {customer.name} (portal login portal_demo / portal_demo).")


def promotion_orders(env, chair):
    """A dozen paid, delivered one-line orders of a cancelled promotion: selected together, more
    than the default threshold of 10, they are cancelled in the background as a batch."""
    if env["sale.order"].search_count([("client_order_ref", "=", BULK_REF)]):
        return
    customer = env["res.partner"].create({"name": "Promotion Customer (demo)", "email": "promo@example.com"})
    for _index in range(BULK_COUNT):
        order = make_order(customer, [(chair, 1)])
        order.client_order_ref = BULK_REF
        deliver(order)
        invoice_and_pay(order)
    env.cr.commit()
    print(f'{BULK_COUNT} orders "{BULK_REF}" loaded: select them all to cancel them in the background.')


def paid_purchase(env, chair):
    """A vendor's purchase order, confirmed, received, billed and paid: cancelled from Purchase >
    Orders with "Cancel Reconciled Order" (only where the purchase addon is installed)."""
    if "purchase.order.cancel.reconciled" not in env or env["res.partner"].search_count([("ref", "=", VENDOR_MARK)]):
        return
    vendor = env["res.partner"].create({"name": VENDOR_NAME, "ref": VENDOR_MARK, "email": "vendor@example.com"})
    order = env["purchase.order"].create(
        {
            "partner_id": vendor.id,
            "partner_ref": "paid and received",
            "order_line": [Command.create({"product_id": chair.id, "product_qty": 5, "price_unit": 80.0})],
        }
    )
    order.button_confirm()
    deliver(order)  # its receipt, validated the same way
    action = order.action_create_invoice()
    bill = env["account.move"].browse(action.get("res_id")) or order.invoice_ids
    bill.invoice_date = fields.Date.today()
    bill.action_post()
    pay(bill)
    env.cr.commit()
    print(f"Paid purchase order loaded: {order.name} for {vendor.name} (Purchase > Orders > Purchase Orders).")


def main(env):
    chair = env["product.product"].search([("name", "=", "Office Chair (demo)")], limit=1)
    if env["res.partner"].search_count([("ref", "=", MARK)]):
        print("Demo scenario already loaded.")
        portal_request(env, chair)
        paid_online(env, chair)
        promotion_orders(env, chair)
        paid_purchase(env, chair)
        return
    company = env.company
    customer = env["res.partner"].create({"name": "Azure Interior (demo)", "ref": MARK, "email": "azure@example.com"})
    chair, desk = env["product.product"].create(
        [
            {
                "name": "Office Chair (demo)",
                "type": "consu",
                "is_storable": True,
                "list_price": 120.0,
                "invoice_policy": "order",
            },
            {
                "name": "Large Desk (demo)",
                "type": "consu",
                "is_storable": True,
                "list_price": 450.0,
                "invoice_policy": "order",
            },
        ]
    )
    stock = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).lot_stock_id
    for product in chair | desk:
        env["stock.quant"]._update_available_quantity(product, stock, 50)

    paid = make_order(customer, [(chair, 4), (desk, 1)])
    paid.client_order_ref = "paid and delivered"
    deliver(paid)
    invoice_and_pay(paid)

    partial = make_order(customer, [(chair, 10)])
    partial.client_order_ref = "partially delivered, paid"
    deliver(partial, {chair: 6})
    invoice_and_pay(partial)

    eur = env.ref("base.EUR")
    eur.active = True
    if not eur.rate_ids.filtered(lambda r: r.company_id == company):
        env["res.currency.rate"].create(
            {"currency_id": eur.id, "rate": 0.9, "company_id": company.id, "name": fields.Date.today()}
        )
    pricelist = env["product.pricelist"].create({"name": "EUR (demo)", "currency_id": eur.id})
    foreign = make_order(customer, [(desk, 2)], pricelist)
    foreign.client_order_ref = "paid in EUR"
    deliver(foreign)
    invoice_and_pay(foreign, eur)
    env.cr.commit()
    print(f"Demo scenario loaded: {paid.name}, {partial.name}, {foreign.name} for {customer.name}.")
    portal_request(env, chair)
    paid_online(env, chair)
    promotion_orders(env, chair)
    paid_purchase(env, chair)


main(env)  # noqa: F821
