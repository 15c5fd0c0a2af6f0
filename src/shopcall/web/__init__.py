"""Static front end: JS SDK, web components and the demo pages."""
