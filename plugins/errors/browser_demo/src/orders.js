// Shipping an order without lines: the error nobody catches.
export function shipOrder(order) {
  const first = order.lines[0];
  if (first === undefined) {
    throw new Error("an order without lines cannot be shipped");
  }
  return first;
}
