// Premium page: prepare the payment on our server, open PortOne's payment window (the vendored
// @portone/browser-sdk, passed in by the page), then ask our server to verify it with PortOne.
// A PortOne response with `code` set is a failure; our API's errors have {"error": {"code", "message"}}.

class PaymentProblem extends Error {}

// gettext and interpolate: the JavaScript catalog (/jsi18n/), loaded by base.html before this module.
const failed = (reason) => interpolate(gettext("Payment failed: %(reason)s"), { reason }, true);

function kstMinutes(iso) {
  // The API renders times in Asia/Seoul ("2026-12-25T14:03:00.123+09:00"): keep date and minutes.
  return iso ? iso.slice(0, 16).replace("T", " ") : "";
}

export function setUpPremiumPage(root, PortOne) {
  if (!root) return;
  const result = root.querySelector("[data-testid=payment-result]");

  if (root.dataset.testMode === "true" && !window.PortOne) {
    // TEST MODE (no PortOne keys): no real payment window. Pretend the customer paid; the server's
    // built-in fake PortOne then reports the payment PAID for exactly its amount.
    window.PortOne = {
      requestPayment: async (request) => ({
        paymentId: request.paymentId,
        txId: `test-mode-${request.paymentId}`,
        transactionType: "PAYMENT",
      }),
    };
  }

  function show(kind, message) {
    result.hidden = false;
    result.className = `payment-result ${kind}`;
    result.setAttribute("role", kind === "error" ? "alert" : "status");
    result.textContent = message;
  }

  function setBusy(busy) {
    root.querySelectorAll("[data-buy]").forEach((button) => {
      button.disabled = busy;
    });
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body),
    });
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    if (!response.ok || !payload || payload.error) {
      throw new PaymentProblem(
        payload?.error?.message ||
          interpolate(gettext("The server answered %(status)s; try again."), { status: response.status }, true),
      );
    }
    return payload.data;
  }

  async function refreshAccount() {
    const response = await fetch(root.dataset.accountUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["premium-subscription", "premium-history"]) {
      const replacement = fresh.getElementById(id);
      const current = document.getElementById(id);
      if (replacement && current) current.replaceWith(replacement);
    }
  }

  async function complete(paymentId) {
    show("pending", gettext("Confirming the payment with PortOne…"));
    const data = await post(root.dataset.completeUrl, { payment_id: paymentId });
    const until = kstMinutes(data.subscription.current_period_end);
    show("success", interpolate(gettext("Payment complete. Premium is active until %(until)s (KST)."), { until }, true));
    await refreshAccount();
  }

  async function buy(productCode) {
    setBusy(true);
    try {
      show("pending", gettext("Preparing the payment…"));
      const order = await post(root.dataset.prepareUrl, { product: productCode });
      show("pending", gettext("Complete the payment in the PortOne window…"));
      const response = await PortOne.requestPayment({
        storeId: order.store_id,
        channelKey: order.channel_key,
        paymentId: order.payment_id,
        orderName: order.order_name,
        totalAmount: order.amount,
        currency: order.currency,
        payMethod: "CARD",
        redirectUrl: new URL(window.location.pathname, window.location.origin).href, // mobile: back here
      });
      if (response === undefined) return; // mobile redirect flow: the page loads again with the result
      if (response.code != null) {
        show("error", failed(response.message || response.code));
        await refreshAccount();
        return;
      }
      await complete(order.payment_id);
    } catch (error) {
      show("error", failed(error instanceof PaymentProblem ? error.message : error.message || error));
    } finally {
      setBusy(false);
    }
  }

  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-buy]");
    if (button && !button.disabled) buy(button.dataset.buy);
  });

  // Back from PortOne's redirect flow (mobile): ?paymentId=…[&code=…&message=…]
  const params = new URLSearchParams(window.location.search);
  const redirectedPaymentId = params.get("paymentId");
  // The buttons come disabled until this script can handle their clicks.
  if (!redirectedPaymentId || params.get("code")) setBusy(false);
  if (redirectedPaymentId) {
    window.history.replaceState(null, "", window.location.pathname);
    if (params.get("code")) {
      show("error", failed(params.get("message") || params.get("code")));
    } else {
      setBusy(true);
      complete(redirectedPaymentId)
        .catch((error) => show("error", failed(error.message)))
        .finally(() => setBusy(false));
    }
  }
}
