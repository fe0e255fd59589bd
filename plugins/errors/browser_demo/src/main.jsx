// The browser demo: @sentry/browser reports to a project of this runtime, and a small React
// app gives it one error its ErrorBoundary catches and one nobody catches. The page that
// loads this bundle (/errors/demo/) hands over the DSN, the release and every label in the
// reader's locale as JSON, so nothing here is text a person reads.
import * as Sentry from "@sentry/browser";
import { createRoot } from "react-dom/client";

import { App } from "./App.jsx";

const config = JSON.parse(document.getElementById("errors-demo-config").textContent);

if (config.dsn) {
  Sentry.init({
    dsn: config.dsn,
    release: config.release,
    environment: "demo",
  });
}

createRoot(document.getElementById("errors-demo")).render(<App labels={config.labels} />);
