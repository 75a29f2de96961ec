// GST inside tax-inclusive prices; mirrors cloud_api/contract.py line_tax. Pure.

/** round-half-up(amount * rate / (10000 + rate)) in integer arithmetic. */
export function lineTax(amount, gstBp) {
  if (amount < 0) return -lineTax(-amount, gstBp);
  const divisor = 10000 + gstBp;
  return Math.floor((2 * amount * gstBp + divisor) / (2 * divisor));
}

/** The tender whose rate another is taxed at; mirrors cloud_api/contract.py TAXED_AS. */
export const TAXED_AS = { on_account: "cash" };

/**
 * The GST rate (basis points) a shop taxing by tender (PRA: 16% cash, 5% card) charges a sale paid by
 * these tenders, or null to keep each product's own rate: the highest of the tenders' rates, so a split
 * never collects less than either tender would. Mirrors cloud_api/contract.py tender_tax_bp.
 */
export function tenderTaxBp(rates, tenders) {
  // Credit (on_account) is taxed as cash: it is reported to FBR / PRA as cash (contract.TAXED_AS).
  const named = tenders.map((tender) => TAXED_AS[tender] || tender)
    .filter((tender) => rates && Object.hasOwn(rates, tender)).map((tender) => rates[tender]);
  return named.length ? Math.max(...named) : null;
}
