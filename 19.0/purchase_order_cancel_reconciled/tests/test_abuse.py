"""No back doors: every public method the two addons define or extend, and the portal route,
called over HTTP by every role with hostile arguments. Each call is refused with a clear error
and changes nothing, or is harmless, or is the legitimate job of that role (listed below, with
why). See ``abuse.py`` for how methods are found, inputs made and answers judged."""

import re
import time
from collections import Counter
from contextlib import closing, contextmanager
from datetime import timedelta

from odoo import Command, fields, http
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from . import abuse
from .common import PurchaseCancelCommon

MEMBER = "order_cancel_reconciled.group_cancel_reconciled"
PURCHASE_MEMBER = "purchase_order_cancel_reconciled.group_cancel_reconciled_purchase"
ALL_LEADS = "sales_team.group_sale_salesman_all_leads"
ROLES = {
    "public": None,
    "portal_customer": "base.group_portal",
    "salesman_own": "sales_team.group_sale_salesman",
    "salesman_all": ALL_LEADS,
    "member": f"{MEMBER},{ALL_LEADS}",
    "billing": "account.group_account_invoice",
    "accountant": "account.group_account_manager",
    "purchase_user": "purchase.group_purchase_user",
    "purchase_member": PURCHASE_MEMBER,
    # Every right the addons give, in the second company only.
    "other_company": f"{MEMBER},{ALL_LEADS},{PURCHASE_MEMBER},account.group_account_manager",
}
# The calls that may change the fingerprint, and on which inputs: the role's job. Everything else
# that changes it is a back door.
THEIRS = frozenset({"own", "own+plain_cancel", "own+from_button", "own+all_context_keys", "other_user"})
MINE = frozenset({"mine", "mine+plain_cancel"})
ANY_INPUT = None
LEGIT = {
    # A member cancels the company's paid orders, theirs or another salesperson's (members are
    # salespeople of all documents): the addon's purpose, by the API or in the background.
    # The context keys change nothing to that: it is the full cancellation.
    ("member", "sale.order", "cancel_reconciled"): THEIRS,
    ("member", "sale.order", "cancel_reconciled_in_background"): THEIRS,
    # The purchase member, the company's paid purchase orders.
    ("purchase_member", "purchase.order", "cancel_reconciled"): THEIRS,
    # Confirming the cancellation dialog a member opened (a dialog is its creator's only).
    ("member", "sale.order.cancel.reconciled", "action_confirm"): MINE,
    ("purchase_member", "purchase.order.cancel.reconciled", "action_confirm"): MINE,
    # A billing administrator reviews the logs (their one change) and keeps the list of reasons
    # (full rights on it by the access rules); reasons have no company.
    ("accountant", "sale.order.cancel.reconciled.log", "action_mark_reviewed"): THEIRS,
    ("accountant", "sale.order.cancel.reconciled.log", "action_reset_to_review"): THEIRS,
    ("accountant", "sale.order.cancel.reconciled.reason", "create"): ANY_INPUT,
    ("accountant", "sale.order.cancel.reconciled.reason", "unlink"): THEIRS,
    # The second company's member, purchase member and billing administrator: the same jobs,
    # on their own company's documents only.
    ("other_company", "sale.order", "cancel_reconciled"): {"other_company"},
    ("other_company", "sale.order", "cancel_reconciled_in_background"): {"other_company"},
    ("other_company", "purchase.order", "cancel_reconciled"): {"other_company"},
    ("other_company", "sale.order.cancel.reconciled", "action_confirm"): MINE,
    ("other_company", "purchase.order.cancel.reconciled", "action_confirm"): MINE,
    ("other_company", "sale.order.cancel.reconciled.log", "action_mark_reviewed"): {"other_company"},
    ("other_company", "sale.order.cancel.reconciled.log", "action_reset_to_review"): {"other_company"},
    ("other_company", "sale.order.cancel.reconciled.reason", "create"): ANY_INPUT,
    # "Re-order": a new quotation with a cancelled order's lines, by a salesperson who may read
    # the log (a billing administrator's rights) and create quotations: an ordinary sales job.
    ("other_company", "sale.order.cancel.reconciled.log", "action_reorder"): {"other_company"},
}
# Inputs that cannot change an answer are left out, to keep the suite fast (a call over HTTP costs
# about 20 ms): a public visitor is refused by the route (auth="user") before the model, the
# method or its arguments are read, so it calls each method with the plain ids and the huge list
# only; abstract models have no records and no record rules, so they get no context; and each
# context key alone goes to the models whose code reads it (context.get in both addons), all of
# them together with every other call.
PUBLIC_KINDS = {"own", "huge"}
SINGLE_KEY_KINDS = {"own+plain_cancel", "own+from_button"}
KEY_READERS = {"sale.order", "purchase.order", "sale.mass.cancel.orders"}
# Odoo 19's external JSON-2 API takes the context as a whole, like RPC: the context keys go to it
# all together (and with both companies), not one by one.
JSON2_LEFT_OUT_KINDS = SINGLE_KEY_KINDS | {"mine+plain_cancel"}
# Calls after which the orders given must be cancelled: a legitimate run is checked whole.
CANCELLING = {"cancel_reconciled", "action_confirm"}
# The dialogs a role may open on a paid order: each user sees only those they opened ("mine").
DIALOGS = (
    ("sale.mass.cancel.orders", "sale_order_ids", "sale.order"),
    ("sale.order.cancel.reconciled", "order_ids", "sale.order"),
    ("purchase.order.cancel.reconciled", "order_ids", "purchase.order"),
)


@tagged("post_install", "-at_install")
class TestNoBackDoors(PurchaseCancelCommon, HttpCase):
    """Every role, over HTTP, against every public method of the addons and the portal route."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        company = env.company
        cls.reason = env.ref("order_cancel_reconciled.reason_customer_request")
        cls.reason.show_on_portal = True
        cls.internal_reason = env.ref("order_cancel_reconciled.reason_damaged")
        cls.internal_reason.show_on_portal = False
        cls.seller = cls.new_user("abuse_seller", "sales_team.group_sale_salesman")
        company_2 = cls.setup_other_company(name="Abuse Company 2")
        cls.company_2 = company_2["company"]
        (company | cls.company_2).write({"cancel_request_portal": True, "cancel_request_auto": False})
        cls.users = {
            role: cls.new_user(f"abuse_{role}", groups, company=cls.company_2 if role == "other_company" else None)
            for role, groups in ROLES.items()
            if groups
        }
        cls.users["portal_customer"].partner_id = cls.customer
        cls.other_portal = cls.new_user("abuse_other_portal", "base.group_portal")
        cls.other_portal.partner_id = cls.other_customer

        # The first company: the portal customer's paid, delivered order (its salesperson is the
        # salesperson of own documents), another salesperson's with a customer's open request,
        # a cancelled one (its log), one in a background batch, two paid purchase orders, and
        # the dialogs a user opened on them.
        cls.order, invoice, payment = cls.paid_delivered_order()
        cls.order.user_id = cls.users["salesman_own"]
        cls.order_token = cls.order._portal_ensure_token()
        cls.other_order, other_invoice, other_payment = cls.paid_delivered_order(partner=cls.other_customer)
        cls.other_order.user_id = cls.seller
        request_model = env["sale.order.cancel.reconciled.request"].sudo()
        request_model._request_from_portal(cls.other_order.sudo(), cls.reason, "Ordered twice")
        log = cls.paid_delivered_order(partner=cls.other_customer)[0].cancel_reconciled()
        batch = cls.paid_delivered_order(partner=cls.other_customer)[0].cancel_reconciled_in_background()
        cls.po, bill, po_payment = cls.paid_received_po()
        other_po, other_bill, other_po_payment = cls.paid_received_po(vendor=cls.other_vendor)
        other_po.user_id = cls.seller
        analysis = env["sale.order.cancel.reconciled.analysis"].search([], limit=1)
        own = {
            "sale.order": cls.order.ids,
            "purchase.order": cls.po.ids,
            "account.move": (invoice | bill).ids,
            "account.payment": (payment | po_payment).ids,
            "sale.order.cancel.reconciled.log": log.ids,
            "sale.order.cancel.reconciled.log.line": log.line_ids.ids,
            "sale.order.cancel.reconciled.request": cls.other_order.cancel_request_ids.ids,
            "sale.order.cancel.reconciled.batch": batch.ids,
            "sale.order.cancel.reconciled.batch.line": batch.line_ids.ids,
            "sale.order.cancel.reconciled.reason": cls.reason.ids,
            "sale.order.cancel.reconciled.analysis": analysis.ids,
            "sale.order.cancel.reconciled": cls.dialog("sale.order.cancel.reconciled", cls.order),
            "purchase.order.cancel.reconciled": cls.dialog("purchase.order.cancel.reconciled", cls.po),
            "sale.mass.cancel.orders": env["sale.mass.cancel.orders"]
            .create({"sale_order_ids": [Command.set(cls.order.ids)]})
            .ids,
            "res.company": company.ids,
            "res.users": env.user.ids,
        }
        # Abstract models have no records: their create, write and unlink get an id anyway.
        own.update({model: [1] for model in abuse.addon_models(env.registry) if env[model]._abstract})
        other_user = {
            "sale.order": cls.other_order.ids,
            "purchase.order": other_po.ids,
            "account.move": (other_invoice | other_bill).ids,
            "account.payment": (other_payment | other_po_payment).ids,
            "res.company": company.ids,
            "res.users": cls.seller.ids,
        }
        with cls.in_company(company_2):
            cls.records = {"own": own, "other_user": other_user, "other_company": cls.other_company_records()}
        cls.mine = {
            role: cls.dialogs_of(user, cls.records["other_company" if role == "other_company" else "own"])
            for role, user in cls.users.items()
        }
        cls.cases = abuse.build_cases(env.registry)
        # Each role's API key, for JSON-2 (an integrator's bearer token).
        tomorrow = fields.Datetime.now() + timedelta(days=1)
        keys = env["res.users.apikeys"]
        cls.api_keys = {
            role: keys.with_user(user).sudo()._generate(None, "abuse", tomorrow) for role, user in cls.users.items()
        }
        cls.transport = "rpc"
        cls.kinds = abuse.kinds(cls.records, (company | cls.company_2).ids)

    @classmethod
    def dialogs_of(cls, user, records):
        """The dialogs this user may open, opened by them on the paid orders of their company."""
        mine = {}
        for model, field, order_model in DIALOGS:
            orders = cls.env[order_model].browse(records[order_model])
            try:
                with cls.env.cr.savepoint():
                    dialog = cls.env[model].with_user(user).with_company(orders.company_id)
                    mine[model] = dialog.create({field: [Command.set(orders.ids)]}).ids
            except AccessError:
                continue
        return mine

    @classmethod
    def dialog(cls, model, orders):
        return cls.env[model].create({"order_ids": [Command.set(orders.ids)]}).ids

    @classmethod
    @contextmanager
    def in_company(cls, company_data):
        """The common helpers build documents in the environment's company: the second one's here."""
        saved = cls.env, cls.bank_journal
        company = company_data["company"]
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=company.ids))
        cls.bank_journal = company_data["default_journal_bank"]
        try:
            yield
        finally:
            cls.env, cls.bank_journal = saved

    @classmethod
    def other_company_records(cls):
        """The second company's paid order (with a customer's request), a cancelled one (its log),
        a paid purchase order and the dialogs opened on them, all of a partner of that company."""
        env, company = cls.env, cls.env.company
        location = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).lot_stock_id
        for product in cls.product_a | cls.product_b:
            env["stock.quant"]._update_available_quantity(product, location, 100.0)
        secret = env["res.partner"].create({"name": abuse.SECRET, "company_id": company.id})
        order, invoice, payment = cls.paid_delivered_order(partner=secret)
        env["sale.order.cancel.reconciled.request"].sudo()._request_from_portal(order.sudo(), cls.reason, "Twice")
        log = cls.paid_delivered_order(partner=secret)[0].cancel_reconciled()
        po, bill, po_payment = cls.paid_received_po(vendor=secret)
        cls.foreign_orders = (order, po)  # what a run of the first company may not touch
        return {
            "sale.order": order.ids,
            "purchase.order": po.ids,
            "account.move": (invoice | bill).ids,
            "account.payment": (payment | po_payment).ids,
            "sale.order.cancel.reconciled.log": log.ids,
            "sale.order.cancel.reconciled.log.line": log.line_ids.ids,
            "sale.order.cancel.reconciled.request": order.cancel_request_ids.ids,
            "sale.order.cancel.reconciled": cls.dialog("sale.order.cancel.reconciled", order),
            "purchase.order.cancel.reconciled": cls.dialog("purchase.order.cancel.reconciled", po),
            "res.company": company.ids,
            "res.users": cls.users["other_company"].ids,
        }

    # ------------------------------------------------------------------------------------------
    # Calling and judging
    # ------------------------------------------------------------------------------------------

    def applies(self, role, case, kind):
        if self.transport == "json2" and kind.name in JSON2_LEFT_OUT_KINDS:
            return False
        if role == "public":
            return kind.name in PUBLIC_KINDS
        if kind.name in SINGLE_KEY_KINDS and case.model not in KEY_READERS:
            return False
        return not (kind.context and self.env[case.model]._abstract)

    def log_in(self, role):
        """RPC: the role's session, as the web client has. JSON-2: no session, the role's API key
        (a public caller has none)."""
        user = self.users.get(role)
        if self.transport == "json2":
            self.authenticate(None, None)
            self.bearer = self.api_keys.get(role)
            return
        self.authenticate(user.login if user else None, user.login if user else None)

    def send(self, model_class, method, args, kwargs, context):
        """One call over the transport of the run; its verdict and answer, or None when the call
        cannot be made over it."""
        model = model_class._name
        headers = {"Content-Type": "application/json"}
        if self.transport == "json2":
            body = abuse.json2_body(model_class, method, args, kwargs, context)
            if body is None:
                return None, None
            if self.bearer:
                headers["Authorization"] = f"bearer {self.bearer}"
            response = self.url_open(f"/json/2/{model}/{method}", data=body, headers=headers, timeout=120)
            return abuse.judge_json2(response), response
        body = abuse.jsonrpc_payload(model, method, args, kwargs, context)
        response = self.url_open(f"/web/dataset/call_kw/{model}/{method}", data=body, headers=headers, timeout=120)
        return abuse.judge_rpc(response), response

    def call_case(self, role, case, kind, baseline):
        """Make the case's calls with this input; the outcome ("refused", "harmless", "legit",
        "failure", or None when the input does not apply) and what went wrong.

        The server answers on a test cursor over this test's own transaction (a savepoint per
        request, released when the request commits): a savepoint taken here around the calls and
        rolled back after undoes even a legitimate cancellation, and every call starts from the
        same data. The test checks at the end that the fingerprint is the first one."""
        model_class = self.env.registry[case.model]
        records = dict(self.records, mine=self.mine.get(role, {}))
        calls = [abuse.call_args(model_class, step, kind, records) for step in case.steps]
        if None in calls:
            return None, None
        with closing(self.env.cr.savepoint()):
            verdict = None
            for step, (args, kwargs) in zip(case.steps, calls, strict=True):
                verdict, response = self.send(model_class, step.method, args, kwargs, kind.context)
                if verdict is None:
                    return None, None
                if role != "other_company" and abuse.SECRET in response.text:
                    return "failure", f"the answer names the other company's partner: {response.text[:300]}"
                if verdict.outcome != "success":
                    break
            after = abuse.fingerprint(self.env)
            if verdict.outcome == "failure":
                return "failure", verdict.detail
            changed = abuse.fingerprint_diff(baseline, after)
            if not changed:
                return ("refused" if verdict.outcome == "refused" else "harmless"), None
            if verdict.outcome == "refused":
                return "failure", f"refused ({verdict.detail}) but changed {changed}"
            legit = LEGIT.get((role, case.model, case.label), False)
            if legit is False or (legit is not ANY_INPUT and kind.name not in legit):
                return "failure", f"succeeded and changed {changed}"
            return "legit", self.check_legit_run(role, case, kind)

    def check_legit_run(self, role, case, kind):
        """A legitimate cancellation, whatever the context said, cancels the orders given, keeps
        every entry balanced and leaves the other company's orders alone."""
        if case.label not in CANCELLING:
            return None
        self.env.invalidate_all()
        records = dict(self.records, mine=self.mine.get(role, {}))
        orders = self.env[case.model].sudo().browse(records[kind.records][case.model])
        if "order_ids" in orders._fields:  # a dialog: its orders
            orders = orders.order_ids
        if set(orders.mapped("state")) != {"cancel"}:
            return f"a legitimate run left {orders.mapped('name')} in {orders.mapped('state')}"
        try:
            self.assert_entries_balanced()
        except AssertionError as unbalanced:
            return f"a legitimate run left an unbalanced entry: {unbalanced}"
        others = self.foreign_orders if role != "other_company" else (self.order, self.po)
        if [other.sudo().state for other in others] != ["sale", "purchase"]:
            return f"a run of {role} changed {[other.sudo().name for other in others]}"
        return None

    def report(self, failures, labels, problem):
        """A failure is a failed subtest under Odoo's runner; pytest-odoo's unittest result has no
        subtests (a failure would stop the loop), so there they are reported together at the end."""
        failures.append((labels, problem))
        if getattr(self._outcome, "result_supports_subtests", True):
            self.fail(problem)

    def summarize(self, title, counts, failures, started):
        """The counts, and the failures grouped by what went wrong (a few calls named per group)."""
        groups = {}
        for labels, problem in failures:
            key = re.sub(r"N(, N)+", "N, ...", re.sub(r"\d+", "N", problem.splitlines()[0]))[:160]
            groups.setdefault(key, []).append(" / ".join(labels.values()))
        lines = [
            f"{title}: {counts['matrix']} combinations ({counts['shape']}), {counts['calls']} calls made, "
            f"{counts['refused']} refused, {counts['harmless']} harmless successes, {counts['legit']} legitimate "
            f"changes, {len(failures)} failures, in {time.time() - started:.0f} s",
        ]
        for key, calls in sorted(groups.items(), key=lambda group: -len(group[1])):
            lines.append(f"  {len(calls)} x {key}")
            lines += [f"      {call}" for call in calls[:4]]
            if calls[4:]:
                lines.append(f"      ... and {len(calls) - 4} more")
        # The counts are what the suite reports on the test's output (pytest -s, Odoo's runner).
        print("\n".join(lines))  # pylint: disable=print-used
        if failures and not getattr(self._outcome, "result_supports_subtests", True):
            self.fail("\n".join(lines))

    # ------------------------------------------------------------------------------------------
    # The tests
    # ------------------------------------------------------------------------------------------

    def test_every_method_every_role(self):
        """Over RPC, as the web client and JSON-RPC/XML-RPC callers make it (call_kw)."""
        self.every_method_every_role("RPC abuse", "rpc")

    def test_every_method_every_role_json2(self):
        """Over Odoo 19's external JSON-2 API, with each role's API key."""
        self.every_method_every_role("JSON-2 abuse", "json2")

    def every_method_every_role(self, title, transport):
        self.transport = transport
        started = time.time()
        baseline = abuse.fingerprint(self.env)
        counts, failures = Counter(), []
        kinds = [kind for kind in self.kinds if transport != "json2" or kind.name not in JSON2_LEFT_OUT_KINDS]
        counts["matrix"] = len(ROLES) * len(self.cases) * len(kinds)
        counts["shape"] = f"{len(ROLES)} roles x {len(self.cases)} methods x {len(kinds)} inputs"
        with abuse.held_log_lines() as held:
            for role in ROLES:
                self.log_in(role)
                for case in self.cases:
                    for kind in self.kinds:
                        if not self.applies(role, case, kind):
                            continue
                        labels = {"role": role, "model": case.model, "method": case.label, "input": kind.name}
                        with self.subTest(**labels):
                            outcome, problem = self.call_case(role, case, kind, baseline)
                            if outcome is None:
                                continue
                            counts["calls"] += 1
                            if outcome == "failure" or problem:
                                held.release()
                                self.report(failures, labels, problem)
                                continue
                            # Odoo's warnings about a refusal are dropped, any line of a success kept.
                            if outcome == "refused":
                                held.drop()
                            else:
                                held.release()
                            counts[outcome] += 1
        self.assertEqual(abuse.fingerprint(self.env), baseline, "every call was rolled back")
        self.summarize(title, counts, failures, started)

    def portal_post(self, order_id, data, token=None, csrf=True, method="POST"):
        url = f"/my/orders/{order_id}/request_cancel"
        if token:
            url += f"?access_token={token}"
        if method == "GET":
            return self.url_open(url, allow_redirects=False, timeout=60)
        data = dict(data, csrf_token=http.Request.csrf_token(self)) if csrf else data
        return self.url_open(url, data=data, allow_redirects=False, timeout=60)

    def portal_cases(self):
        """(label, order id, form, options, who may record a request with it)."""
        order, valid = self.order.id, {"reason_id": self.reason.id, "comment": "Ordered twice"}
        owner, token_holders = {"portal_customer"}, {"portal_customer", "public", "other_portal"}
        return [
            ("valid", order, valid, {}, owner),
            ("valid, with the access token", order, valid, {"token": self.order_token}, token_holders),
            ("reason_id=²", order, dict(valid, reason_id="²"), {}, owner),
            ("reason_id=-1", order, dict(valid, reason_id="-1"), {}, owner),
            ("reason_id=abc", order, dict(valid, reason_id="abc"), {}, owner),
            ("reason not offered on the portal", order, dict(valid, reason_id=self.internal_reason.id), {}, set()),
            ("huge comment", order, dict(valid, comment="x" * 100_000), {}, set()),
            ("html comment", order, dict(valid, comment='<img src="x" onerror="alert(1)">'), {}, owner),
            ("another customer's order", self.other_order.id, valid, {}, set()),
            ("order that does not exist", 999_999_999, valid, {}, set()),
            ("order id out of range", 99_999_999_999, valid, {}, set()),
            ("bad access token", order, valid, {"token": "bad"}, owner),
            ("no CSRF token", order, valid, {"csrf": False}, set()),
            ("GET", order, valid, {"method": "GET"}, set()),
        ]

    def test_portal_route(self):
        started = time.time()
        baseline = abuse.fingerprint(self.env)
        counts, failures = Counter(), []
        actors = {"public": None, "portal_customer": "abuse_portal_customer", "other_portal": "abuse_other_portal"}
        actors["internal"] = "abuse_salesman_all"
        cases = self.portal_cases()
        counts["matrix"] = len(actors) * len(cases)
        counts["shape"] = f"{len(actors)} actors x {len(cases)} inputs"
        with abuse.held_log_lines() as held:
            for actor, login in actors.items():
                self.authenticate(login, login)
                for label, order_id, data, options, allowed in cases:
                    labels = {"role": actor, "model": "portal", "method": "request_cancel", "input": label}
                    with self.subTest(**labels):
                        counts["calls"] += 1
                        outcome, problem = self.portal_call(actor, order_id, data, options, allowed, baseline)
                        if problem:
                            held.release()
                            self.report(failures, labels, problem)
                            continue
                        if outcome == "refused":
                            held.drop()
                        else:
                            held.release()
                        counts[outcome] += 1
        self.assertEqual(abuse.fingerprint(self.env), baseline, "every call was rolled back")
        self.summarize("Portal route abuse", counts, failures, started)

    def portal_call(self, actor, order_id, data, options, allowed, baseline):
        messages = self.env["mail.message"].sudo()
        last_message = messages.search([], order="id desc", limit=1).id
        with closing(self.env.cr.savepoint()):
            response = self.portal_post(order_id, data, **options)
            status = response.status_code
            changed = abuse.fingerprint_diff(baseline, abuse.fingerprint(self.env))
            posted = messages.search([("id", ">", last_message), ("model", "=", "sale.order")], order="id")
            if status >= 500:
                return "failure", f"HTTP {status} {response.reason}"
            if status not in (302, 303) and not (
                (status == 400 and options.get("csrf") is False) or (status == 405 and options.get("method"))
            ):
                return "failure", f"HTTP {status} {response.reason} instead of a redirect"
            if not changed:
                return "refused", None
            if actor not in allowed:
                authors = ", ".join(posted.author_id.mapped("name"))
                return "failure", f"recorded a request ({changed}); messages on the order by {authors}"
            if any("<img" in (message.body or "") for message in posted):
                return "failure", "the customer's comment is posted as HTML"
            return "legit", None
