// Swagger UI for /docs, from the vendored bundle: no CDN (a LAN may have no internet) and no inline script
// (the page's Content-Security-Policy allows neither). The options are the ones FastAPI's own /docs uses.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
