import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob } from './glob.js';

test('double star crosses directories', () => {
  const glob = compileGlob('/assets/**');
  assert.ok(glob.test('/assets/a.js'));
  assert.ok(glob.test('/assets/x/y/z.css'));
  assert.ok(!glob.test('/other/assets/a.js'));
});

test('single star stays in one segment', () => {
  const glob = compileGlob('/assets/*.js');
  assert.ok(glob.test('/assets/a.js'));
  assert.ok(!glob.test('/assets/x/a.js'));
});

test('pattern without slash matches the file name', () => {
  const glob = compileGlob('*.html');
  assert.ok(glob.test('/index.html'));
  assert.ok(glob.test('/a/b/page.html'));
  assert.ok(!glob.test('/a.html/x.css'));
});

test('braces and question mark', () => {
  const glob = compileGlob('/**/*.{png,jpg}');
  assert.ok(glob.test('/a.png'));
  assert.ok(glob.test('/img/b.jpg'));
  assert.ok(!glob.test('/img/b.gif'));
  assert.ok(compileGlob('/v?/x').test('/v1/x'));
  assert.ok(!compileGlob('/v?/x').test('/v10/x'));
});

test('regex characters are literal', () => {
  assert.ok(compileGlob('/a+b(1).txt').test('/a+b(1).txt'));
  assert.ok(!compileGlob('/a.txt').test('/abtxt'));
  assert.doesNotThrow(() => compileGlob('/{a{b}'));
});
