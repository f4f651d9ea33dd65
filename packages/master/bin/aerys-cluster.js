#!/usr/bin/env node
// The CLI is compiled TypeScript; this shim exists so the bin link resolves before the first build.
import { main } from '../dist/cli.js';

main(process.argv.slice(2));
