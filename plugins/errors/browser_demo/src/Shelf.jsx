// A component that cannot render a negative stock: the error the ErrorBoundary catches.
export function Shelf({ stock, labels }) {
  if (stock < 0) {
    throw new RangeError(`stock cannot be negative: ${stock}`);
  }
  return <p id="errors-demo-shelf">{labels.stock.replace("{count}", String(stock))}</p>;
}
