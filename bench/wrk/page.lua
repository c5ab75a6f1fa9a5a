-- One page over and over (GET of the URL, headers from wrk's -H). Any answer but 200 is counted in
-- `unexpected` (wrk itself counts only statuses over 399: a redirect to the login page would pass).

local report = require("report")

setup = report.setup

function init(args)
   unexpected = 0
end

function response(status, headers, body)
   if status ~= 200 then
      unexpected = unexpected + 1
   end
end

done = report.done({ "unexpected" })
