/**
 * Measures what starting the program costs, against a flat program that declares the same resources with no component,
 * validation or helpers, in two ways:
 *
 * 1. Compiled JavaScript (bin/index.js) under the Pulumi runtime mocks, next to loading @pulumi/pulumi alone and a flat
 *    program in compiled JavaScript. Each sample is a fresh Node process; the time covers require() of the program until
 *    every resource is registered.
 * 2. The way `pulumi preview` and `pulumi up` start it. The Node language host runs `node
 *    node_modules/@pulumi/pulumi/cmd/run <program>` with PULUMI_NODEJS_TYPESCRIPT=true, and run.js registers ts-node on
 *    index.ts itself. Each sample runs that same entry point, so ts-node gets exactly run.js's options, with a --require
 *    preload (this file) that installs the runtime mocks in place of an engine. The flat program is TypeScript written
 *    to a temp directory with the tsconfig of a fresh `pulumi new azure-typescript` project. Each pair runs cold (an
 *    empty ts-node cache, as on a fresh CI runner) and warm (the cache a previous run filled), type-checked (Pulumi's
 *    default) and with PULUMI_NODEJS_TRANSPILE_ONLY=true. Times run from process start (performance.timeOrigin) to
 *    the moment cmd/run signals the engine that the program is done; ts-node registration starts right after the
 *    preload, some 35 ms in, and the table shows when.
 *
 * 3. The image pull secret delivery at scale (scripts/measureScale.ts): 100 namespaces x 3 service accounts, with the
 *    references it declares and with the server-side-apply patches earlier versions declared, side by side.
 *
 * The jobs live in scripts/measure/: common (constants and mocks), compiled (part 1), programs (the flat program),
 * host (part 2), profile (--profile); scripts/measureScale.ts is part 3. This file is the entry point and dispatch.
 *
 *   npm run measure [-- [--quick] [registries...]]   (--quick: 1 cold / 2 warm samples; registries: part 1's counts)
 *   npm run measure -- --engine [--quick]           (part 4: the program and the flat one under the engine, on the twin)
 *   npm run measure -- --engine-scale               (part 5: the image pull secret delivery at scale under the engine)
 *   npm run measure -- --profile                     (CPU profile of one warm transpile-only program run)
 */
import * as fs from "node:fs";
import { scaleTable } from "./measureScale";
import { Mode, PRELOAD_ENV } from "./measure/common";
import { child, compiledTable } from "./measure/compiled";
import { Checking, PreloadSettings, Target, coldSample, hostTable, preload } from "./measure/host";
import { profileRun } from "./measure/profile";
import { writeFlatProject } from "./measure/programs";
import { engineTable } from "./measure/engine";
import { engineScaleReport } from "./measure/engineScale";

// ---------------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    if (args.includes("--profile")) {
        console.log(profileRun().join("\n"));
        return;
    }
    const quick = args.includes("--quick");
    if (args.includes("--engine-scale")) {
        console.log((await engineScaleReport()).join("\n"));
        return;
    }
    if (args.includes("--engine")) {
        console.log(await engineTable(quick));
        return;
    }
    const counts = args.map(Number).filter((n) => n > 0);
    const compiled = compiledTable(counts.length > 0 ? counts : [1, 10, 100], quick ? 1 : 5);
    console.log(
        [
            "Compiled JavaScript (bin/index.js) under the runtime mocks; ms from require() until every resource is registered, median:",
            ...compiled,
            "",
            ...hostTable(quick),
            "",
            ...scaleTable(quick),
        ].join("\n"),
    );
    // Under the engine it takes the rig and minutes: a full run only (or --engine alone).
    console.log(quick ? "\nUnder the engine: npm run measure -- --engine" : `\n${await engineTable(false)}`);
    console.log(quick ? "At scale under the engine: npm run measure -- --engine-scale" : `\n${(await engineScaleReport()).join("\n")}`);
}

const preloadSettings = process.env[PRELOAD_ENV];
if (preloadSettings !== undefined) {
    // Loaded with --require ahead of the language host's entry point: install the mocks, then let cmd/run run.
    delete process.env[PRELOAD_ENV];
    preload(JSON.parse(preloadSettings) as PreloadSettings);
} else if (process.argv[2] === "--child") {
    child(process.argv[3] as Mode, Number(process.argv[4])).catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
} else if (process.argv[2] === "--host-sample") {
    // One cold language-host sample as JSON, for tests: --host-sample <program|flat> <type-checked|transpile-only> <registries>.
    const flatDir = writeFlatProject();
    try {
        const sample = coldSample({
            target: process.argv[3] as Target,
            checking: process.argv[4] as Checking,
            registries: Number(process.argv[5]),
            flatDir,
        });
        process.stdout.write(JSON.stringify(sample));
    } finally {
        fs.rmSync(flatDir, { recursive: true, force: true });
    }
} else {
    main().catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
}
