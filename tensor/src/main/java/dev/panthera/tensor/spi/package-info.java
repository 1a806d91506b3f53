/** The backend SPI: what a backend implements over (storage, layout). */
package dev.panthera.tensor.spi;
