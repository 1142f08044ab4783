/**
 * Moves the program's clock to the Azure twin's: loaded with `node --require` (through `NODE_OPTIONS`) by the
 * whole-program tests, it shifts `Date.now` by the store's `clockOffsetMs` in the program's own process (the one
 * `@pulumi/pulumi/cmd/run` starts), so a test can put a run past the secret's renewal day. The component reads the
 * time through `Date.now` for exactly this (components/crossTenantAcrPull.ts). Every other process that inherits
 * `NODE_OPTIONS` (the plugins, the dynamic provider host) keeps the machine's clock and asks the store for the
 * twin's time itself, so no time is shifted twice.
 */
import * as fs from "node:fs";

const entry = process.argv[1] ?? "";
const store = process.env.AZURE_TWIN_STORE;
if (store !== undefined && /[\\/]cmd[\\/]run([\\/]index\.js)?$/.test(entry)) {
    const offset = (JSON.parse(fs.readFileSync(store, "utf8")) as { clockOffsetMs?: number }).clockOffsetMs ?? 0;
    if (offset !== 0) {
        const machineNow = Date.now.bind(Date);
        Date.now = () => machineNow() + offset;
    }
}
