/**
 * All ShopCall web components. Importing this module defines the custom elements.
 * @module shopcall/components
 */
export { ShopCallCallElement } from "./shopcall-call.js";
export { icons, initials, esc } from "./icons.js";
