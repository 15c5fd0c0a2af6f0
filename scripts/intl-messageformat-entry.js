// Entry for `npm run build:i18n`: intl-messageformat as one ES module the browser loads with no import map.
export { IntlMessageFormat } from "intl-messageformat";
