// Web Push handlers (reminders) go here; the service worker (/sw.js) imports this file first.
