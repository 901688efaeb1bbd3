# Demonstration scenario, run with `odoo-bin shell` (which provides `env`). Idempotent: a second run
# adds nothing, and a demo database made by an older version of this script gets what it lacks.
# Everything is created by the administrator, whose orders they are: Sales > Orders > Orders and
# "My Quotations" (where Sales opens) list them. Each sale order tells one story, named twice:
# - its tag, "Demo: paid and delivered"... for the back office (the favorite "Demo stories" groups
#   Sales > Orders > Orders by tag, so each story is a line of the list);
# - its customer reference, "paid and delivered"..., which the customer sees on the portal and the
#   PDF, and which the order search finds (scripts/check_upgrade.sh and the screenshot scripts
#   look the orders up by it: keep these references).
# The stories: Azure Interior's orders paid and delivered, partially delivered, paid in EUR, paid
# online through the simulated provider; Gemini Furniture (portal login portal_demo), one order
# whose cancellation request waits and one ready to be requested; a dozen orders of a cancelled
# promotion, cancelled together in the background; with the purchase addon, a vendor's purchase
# order received, billed and paid.
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, fields

MARK = "ocr-demo"
PORTAL_MARK = "ocr-demo-portal"
PORTAL_LOGIN = "portal_demo"
VENDOR_MARK = "ocr-demo-vendor"
VENDOR_NAME = "Demo Vendor (paid PO to cancel)"
BULK_COUNT = 12

PAID_REF = "paid and delivered"
PARTIAL_REF = "partially delivered, paid"
EUR_REF = "paid in EUR"
ONLINE_REF = "paid online (demo provider)"
REQUESTED_REF = "cancellation requested on the portal"
READY_REF = "ready for a portal request"
BULK_REF = "promotion cancelled"
# The customer reference of each story and the tag (with its colour) that names it in the list,
# in the order of the walk in README.md (the list grouped by tag shows them in this order).
STORY_TAGS = {
    PAID_REF: ("Demo: paid and delivered", 10),
    PARTIAL_REF: ("Demo: partly delivered, paid", 2),
    EUR_REF: ("Demo: paid in EUR", 4),
    ONLINE_REF: ("Demo: paid online (refund through the provider)", 9),
    READY_REF: ("Demo: ready for a portal request", 7),
    REQUESTED_REF: ("Demo: portal request waiting", 3),
    BULK_REF: ("Demo: promotion cancelled (batch)", 1),
}
FAVORITE = "Demo stories"


def story_tag(env, ref):
    name, color = STORY_TAGS[ref]
    tag = env["crm.tag"].search([("name", "=", name)], limit=1)
    return tag or env["crm.tag"].create({"name": name, "color": color})


def has_story(env, ref):
    return bool(env["sale.order"].search_count([("client_order_ref", "=", ref)]))


def make_order(customer, lines, ref, pricelist=None):
    env = customer.env
    order = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "user_id": env.user.id,
            "client_order_ref": ref,
            "tag_ids": [Command.link(story_tag(env, ref).id)],
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
    env = invoice.env
    journal = env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", invoice.company_id.id)], limit=1
    )
    vals = {"journal_id": journal.id, "payment_date": fields.Date.today()}
    if currency:
        vals["currency_id"] = currency.id
    return (
        env["account.payment.register"]
        .with_context(active_model="account.move", active_ids=invoice.ids)
        .create(vals)
        ._create_payments()
    )


def first_orders(env):
    """Azure Interior's three orders: paid and delivered; partially delivered (a backorder
    waits) and paid; paid in EUR. Returns the customer and the demo's chair."""
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

    paid = make_order(customer, [(chair, 4), (desk, 1)], PAID_REF)
    deliver(paid)
    invoice_and_pay(paid)

    partial = make_order(customer, [(chair, 10)], PARTIAL_REF)
    deliver(partial, {chair: 6})
    invoice_and_pay(partial)

    eur = env.ref("base.EUR")
    eur.active = True
    if not eur.rate_ids.filtered(lambda r: r.company_id == company):
        env["res.currency.rate"].create(
            {"currency_id": eur.id, "rate": 0.9, "company_id": company.id, "name": fields.Date.today()}
        )
    pricelist = env["product.pricelist"].create({"name": "EUR (demo)", "currency_id": eur.id})
    foreign = make_order(customer, [(desk, 2)], EUR_REF, pricelist)
    deliver(foreign)
    invoice_and_pay(foreign, eur)
    env.cr.commit()
    print(f"Demo scenario loaded: {paid.name}, {partial.name}, {foreign.name} for {customer.name}.")


def paid_online(env, chair):
    """An order paid online through Odoo's simulated provider (payment_demo): cancelled with a
    refund, the money goes back through the provider."""
    if "payment.provider" not in env or has_story(env, ONLINE_REF):
        return
    if not env["ir.module.module"].search([("name", "=", "payment_demo"), ("state", "=", "installed")]):
        return
    company = env.company
    journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
    provider = env.ref("payment.payment_provider_demo")
    provider.write({"state": "test", "journal_id": journal.id})
    customer = env["res.partner"].search([("ref", "=", MARK)], limit=1)
    order = make_order(customer, [(chair, 1)], ONLINE_REF)
    deliver(order)
    invoice = order._create_invoices()
    invoice.action_post()
    payment = pay(invoice)
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


def portal_customer(env):
    """Gemini Furniture, a customer who signs in to the portal as portal_demo / portal_demo."""
    customer = env["res.partner"].search([("ref", "=", PORTAL_MARK)], limit=1)
    if customer:
        return customer, env["res.users"].search([("partner_id", "=", customer.id)], limit=1)
    customer = env["res.partner"].create(
        {"name": "Gemini Furniture (demo)", "ref": PORTAL_MARK, "email": "gemini@example.com"}
    )
    user = env["res.users"].create(
        {
            "name": customer.name,
            "login": PORTAL_LOGIN,
            "password": PORTAL_LOGIN,
            "partner_id": customer.id,
            # Odoo 19 names the user's groups group_ids (18: groups_id): one script for both series.
            ("group_ids" if "group_ids" in env["res.users"]._fields else "groups_id"): [
                Command.set([env.ref("base.group_portal").id])
            ],
        }
    )
    return customer, user


def portal_orders(env, chair):
    """The portal customer's paid, delivered orders: one whose cancellation request (sent from
    the portal) waits for a member, and one with nothing asked yet, for the newcomer to press
    "Request Cancellation" on. (Left out with versions of the addon before portal requests, as
    the upgrade check installs.)"""
    if "sale.order.cancel.reconciled.request" not in env or "cancel_request_portal" not in env["res.company"]._fields:
        return
    if has_story(env, REQUESTED_REF) and has_story(env, READY_REF):
        return
    env.company.cancel_request_portal = True
    env.ref("order_cancel_reconciled.reason_customer_request").show_on_portal = True
    env.ref("order_cancel_reconciled.reason_order_error").show_on_portal = True
    customer, user = portal_customer(env)
    if not has_story(env, REQUESTED_REF):
        order = make_order(customer, [(chair, 2)], REQUESTED_REF)
        deliver(order)
        invoice_and_pay(order)
        # Sent as the portal's form sends it: by the customer, elevated after the access check.
        reason = env.ref("order_cancel_reconciled.reason_order_error")
        env["sale.order.cancel.reconciled.request"].with_user(user).sudo()._request_from_portal(
            order.sudo(), reason, "Ordered twice by mistake"
        )
        print(f"Portal request loaded: {order.name} for {customer.name}.")
    if not has_story(env, READY_REF):
        waiting = env["sale.order"].search([("client_order_ref", "=", REQUESTED_REF)], limit=1)
        order = make_order(customer, [(chair, 3)], READY_REF)
        # Ordered the day before the other one: "Your Orders" (newest first) keeps the order whose
        # request waits on top, where the screenshot script looks for it.
        order.date_order = min(fields.Datetime.now(), waiting.date_order or fields.Datetime.now()) - timedelta(days=1)
        deliver(order)
        invoice_and_pay(order)
        print(f"Order ready for a portal request: {order.name} for {customer.name}.")
    env.cr.commit()


def promotion_orders(env, chair):
    """A dozen paid, delivered one-line orders of a cancelled promotion: selected together, more
    than the default threshold of 10, they are cancelled in the background as a batch."""
    if has_story(env, BULK_REF):
        return
    customer = env["res.partner"].create({"name": "Promotion Customer (demo)", "email": "promo@example.com"})
    for _index in range(BULK_COUNT):
        order = make_order(customer, [(chair, 1)], BULK_REF)
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
            "user_id": env.user.id,
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


def label_stories(env):
    """Every demo order carries its story's tag and is the administrator's: also the orders of
    demo databases made before, which OdooBot created (one given to someone else stays theirs)."""
    bot = [False, SUPERUSER_ID]
    changed = 0
    for ref in STORY_TAGS:
        tag = story_tag(env, ref)
        orders = env["sale.order"].search([("client_order_ref", "=", ref)])
        untagged = orders.filtered(lambda o, tag=tag: tag not in o.tag_ids)
        untagged.tag_ids = [Command.link(tag.id)]
        ownerless = orders.filtered(lambda o: o.user_id.id in bot)
        ownerless.user_id = env.user
        changed += len(untagged | ownerless)
    if "purchase.order" in env:
        purchases = env["purchase.order"].search([("partner_id.ref", "=", VENDOR_MARK), ("user_id", "in", bot)])
        purchases.user_id = env.user
        changed += len(purchases)
    # The favorite's owner: user_id on 18.0, the users it is shared with (user_ids) on 19.0.
    owner = "user_ids" if "user_ids" in env["ir.filters"]._fields else "user_id"
    if not env["ir.filters"].search_count([("name", "=", FAVORITE), (owner, "in", env.user.ids)]):
        # Not the list's default: the screenshot scripts expect its plain rows.
        env["ir.filters"].create(
            {
                "name": FAVORITE,
                "model_id": "sale.order",
                "action_id": env.ref("sale.action_orders").id,
                owner: env.user.id if owner == "user_id" else [(6, 0, env.user.ids)],
                "context": "{'group_by': ['tag_ids']}",
            }
        )
        print(f'Favorite "{FAVORITE}" added to Sales > Orders > Orders: the orders grouped by story.')
    env.cr.commit()
    if changed:
        print(f"Demo orders of an older demo labelled: {changed} now the administrator's, tagged by story.")


def main(env):
    for ref in STORY_TAGS:
        story_tag(env, ref)
    if env["res.partner"].search_count([("ref", "=", MARK)]):
        print("Demo scenario already loaded.")
    else:
        first_orders(env)
    chair = env["product.product"].search([("name", "=", "Office Chair (demo)")], limit=1)
    portal_orders(env, chair)
    paid_online(env, chair)
    promotion_orders(env, chair)
    paid_purchase(env, chair)
    label_stories(env)


main(env(user=env.ref("base.user_admin")))  # noqa: F821 (env is provided by odoo-bin shell)
