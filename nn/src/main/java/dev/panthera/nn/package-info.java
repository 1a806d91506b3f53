/** Modules, layers, adapters, losses, optimizers. */
package dev.panthera.nn;
