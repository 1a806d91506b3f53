/** CUDA libraries through the FFM API. */
package dev.panthera.cuda;
