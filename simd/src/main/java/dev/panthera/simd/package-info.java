/** The Vector API backend. */
package dev.panthera.simd;
