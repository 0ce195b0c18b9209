import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { errorCatalogue, isTesseraError, TesseraError, type TesseraErrorCode, type TesseraErrorEntry } from '../../src/errors.js';

const srcRoot = join(import.meta.dirname, '..', '..', 'src');
const codes = Object.keys(errorCatalogue) as TesseraErrorCode[];
const areas = ['CONFIG', 'DEV_IDP', 'IDP', 'STORE', 'TOKEN'];
const prefixes = areas.map((area) => `ERR_${area}_`);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

interface Literal { file: string; line: number; text: string; allowed: boolean; context: string }

/**
 * Where a code may be written: in a position the compiler checks against the catalogue's
 * union (an argument of `new TesseraError(` / `tokenError(` / `isTesseraError(`, a `case`, a
 * comparison with `.code`, a literal type). Anywhere else a code is a free-floating string.
 */
function allowedContext(node: ts.Node): { allowed: boolean; context: string } {
  const parent = node.parent;
  if (ts.isLiteralTypeNode(parent)) return { allowed: true, context: 'type' };
  if (ts.isCaseClause(parent)) return { allowed: true, context: 'case' };
  if ((ts.isNewExpression(parent) || ts.isCallExpression(parent)) && parent.arguments?.includes(node as ts.Expression)) {
    const callee = parent.expression.getText();
    if (ts.isNewExpression(parent) && callee === 'TesseraError') return { allowed: true, context: 'new TesseraError(' };
    if (ts.isCallExpression(parent) && ['tokenError', 'isTesseraError'].includes(callee)) return { allowed: true, context: `${callee}(` };
    return { allowed: false, context: `argument of ${callee}(` };
  }
  if (ts.isBinaryExpression(parent) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken].includes(parent.operatorToken.kind)) {
    const other = parent.left === node ? parent.right : parent.left;
    if (ts.isPropertyAccessExpression(other) && other.name.text === 'code') return { allowed: true, context: '.code comparison' };
  }
  return { allowed: false, context: ts.SyntaxKind[parent.kind] };
}

/** Every string literal of the form `ERR_…` in src/ (comments are not literals). */
function codeLiterals(): Literal[] {
  const found: Literal[] = [];
  for (const path of sourceFiles(srcRoot)) {
    const text = readFileSync(path, 'utf8');
    if (!text.includes('ERR_')) continue;
    const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
    const file = relative(srcRoot, path);
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && /^ERR_[A-Z_]+$/.test(node.text)) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        found.push({ file, line, text: node.text, ...allowedContext(node) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('the error catalogue', () => {
  const literals = codeLiterals();

  test('finds the codes in the source (the scan itself works)', () => {
    assert.ok(literals.length > 50, `only ${literals.length} code literals found`);
    assert.ok(literals.some((l) => l.text === 'ERR_STORE_UNAVAILABLE' && l.file === join('stores', 'errors.ts')));
  });

  test('every code is ERR_<AREA>_<WHAT> with a description', () => {
    for (const code of codes) {
      assert.match(code, /^ERR_[A-Z]+(?:_[A-Z]+)+$/, code);
      assert.ok(prefixes.some((p) => code.startsWith(p)), `${code} has no known area`);
      assert.ok(errorCatalogue[code].description.length > 10, `${code} has no description`);
    }
  });

  test('every code written in src/ is in the catalogue (or is an area prefix)', () => {
    const unknown = literals.filter((l) => !(l.text in errorCatalogue) && !prefixes.includes(l.text));
    assert.deepEqual(unknown.map((l) => `${l.file}:${l.line} ${l.text}`), []);
  });

  test('a code is written only where the compiler checks it against the catalogue', () => {
    const loose = literals.filter((l) => !l.allowed);
    assert.deepEqual(loose.map((l) => `${l.file}:${l.line} ${l.text} (${l.context})`), []);
  });

  test('every code in the catalogue is thrown somewhere in src/', () => {
    const used = new Set(literals.filter((l) => l.context !== 'type').map((l) => l.text));
    assert.deepEqual(codes.filter((code) => !used.has(code)), []);
  });

  test('transient codes (outages) are exactly the 503s', () => {
    for (const code of codes) {
      const entry: TesseraErrorEntry = errorCatalogue[code];
      assert.equal(entry.transient, entry.status === 503, `${code}: transient ${entry.transient}, status ${entry.status}`);
    }
    assert.deepEqual(codes.filter((code) => errorCatalogue[code].transient).sort(), [
      'ERR_IDP_METADATA', 'ERR_IDP_UNAVAILABLE', 'ERR_STORE_UNAVAILABLE', 'ERR_TOKEN_JWKS_UNAVAILABLE',
    ]);
  });

  test('token rejections are 401 except an unloadable JWKS', () => {
    for (const code of codes.filter((c) => c.startsWith('ERR_TOKEN_'))) {
      const entry: TesseraErrorEntry = errorCatalogue[code];
      assert.equal(entry.status, code === 'ERR_TOKEN_JWKS_UNAVAILABLE' ? 503 : 401, code);
    }
  });
});

describe('TesseraError', () => {
  test('takes status and transient from the catalogue', () => {
    const cause = new Error('ECONNREFUSED');
    const outage = new TesseraError('ERR_STORE_UNAVAILABLE', 'store down', { cause });
    assert.equal(outage.status, 503);
    assert.equal(outage.transient, true);
    assert.equal(outage.cause, cause);
    assert.equal(outage.name, 'TesseraError');
    const rejected = new TesseraError('ERR_TOKEN_EXPIRED', 'expired');
    assert.equal(rejected.status, 401);
    assert.equal(rejected.transient, false);
    assert.equal(new TesseraError('ERR_CONFIG_INVALID', 'bad').status, undefined);
    assert.ok(!('cause' in rejected));
  });

  test('a finer status only where the catalogue lists it', () => {
    assert.equal(new TesseraError('ERR_DEV_IDP_BAD_REQUEST', 'too large', { status: 413 }).status, 413);
    assert.equal(new TesseraError('ERR_DEV_IDP_BAD_REQUEST', 'bad').status, 400);
    // @ts-expect-error: the status of a transient code is the catalogue's
    assert.equal(new TesseraError('ERR_STORE_UNAVAILABLE', 'down', { status: 500 }).status, 503);
  });

  test('a code not in the catalogue does not compile, and throws TypeError from JavaScript', () => {
    // @ts-expect-error: not a catalogue code
    assert.throws(() => new TesseraError('ERR_STORE_ON_FIRE', 'x'), TypeError);
    // @ts-expect-error: not a catalogue code
    assert.throws(() => new TesseraError('toString', 'x'), TypeError);
  });

  test('isTesseraError matches a whole code or an area prefix, and narrows the code', () => {
    const err: unknown = new TesseraError('ERR_TOKEN_JWKS_UNAVAILABLE', 'no JWKS');
    assert.ok(isTesseraError(err));
    assert.ok(isTesseraError(err, 'ERR_TOKEN_'));
    assert.ok(isTesseraError(err, 'ERR_TOKEN_JWKS_UNAVAILABLE'));
    assert.ok(!isTesseraError(err, 'ERR_STORE_'));
    assert.ok(!isTesseraError(new Error('ERR_TOKEN_CLAIM'), 'ERR_TOKEN_'));
    assert.ok(!isTesseraError(new TesseraError('ERR_DEV_IDP_CONFIG', 'x'), 'ERR_IDP_'));
    if (isTesseraError(err, 'ERR_TOKEN_')) {
      const code: `ERR_TOKEN_${string}` = err.code; // narrowed by the prefix
      assert.equal(code, 'ERR_TOKEN_JWKS_UNAVAILABLE');
    }
    // @ts-expect-error: not an area or a code
    void (() => isTesseraError(err, 'ERR_TOK'));
  });
});
