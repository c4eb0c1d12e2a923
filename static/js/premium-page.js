// Premium page entry (a module file, not an inline script, for the Content-Security-Policy): load the vendored
// PortOne SDK and static/js/premium.js by the URLs the template resolved with {% static %}, then wire the page.
const script = document.querySelector("script[data-portone-sdk]"); // module scripts have no currentScript
const [PortOne, { setUpPremiumPage }] = await Promise.all([
  import(script.dataset.portoneSdk),
  import(script.dataset.premium),
]);
setUpPremiumPage(document.getElementById("premium"), PortOne);
