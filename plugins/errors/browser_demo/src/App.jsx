// Two buttons: one breaks a component inside @sentry/react's ErrorBoundary (caught, reported,
// a fallback shown); the other runs a click handler that throws (uncaught, reported by the
// SDK's global handlers).
import { ErrorBoundary } from "@sentry/react";
import { useState } from "react";

import { shipOrder } from "./orders.js";
import { Shelf } from "./Shelf.jsx";

export function App({ labels }) {
  const [stock, setStock] = useState(3);
  return (
    <main>
      <ErrorBoundary
        fallback={({ resetError }) => (
          <p id="errors-demo-fallback">
            {labels.caught}{" "}
            <button type="button" onClick={() => { setStock(3); resetError(); }}>
              {labels.reset}
            </button>
          </p>
        )}
      >
        <Shelf stock={stock} labels={labels} />
      </ErrorBoundary>
      <p>
        <button id="errors-demo-break-render" type="button" onClick={() => setStock(-1)}>
          {labels.breakRender}
        </button>{" "}
        <button id="errors-demo-break-click" type="button" onClick={() => shipOrder({ lines: [] })}>
          {labels.breakClick}
        </button>
      </p>
    </main>
  );
}
