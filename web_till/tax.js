// GST inside tax-inclusive prices; mirrors cloud_api/contract.py line_tax. Pure.

/** round-half-up(amount * rate / (10000 + rate)) in integer arithmetic. */
export function lineTax(amount, gstBp) {
  if (amount < 0) return -lineTax(-amount, gstBp);
  const divisor = 10000 + gstBp;
  return Math.floor((2 * amount * gstBp + divisor) / (2 * divisor));
}
