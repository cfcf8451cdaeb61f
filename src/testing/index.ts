/**
 * `skycache/testing`: the backend conformance suite, for testing a backend (built-in or your own)
 * against the Cache API contract. Requires vitest.
 */
export { runConformanceSuite, type ConformanceOptions } from './conformance/suite.js';
