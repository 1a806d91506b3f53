/** Models, weight formats, tokenizers. */
package dev.panthera.models;
