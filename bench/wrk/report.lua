-- Shared by the bench.load scripts: numbers each wrk thread (its global `index`, from 0) and, when the run is
-- done, prints one line "BENCH {...}" of JSON that bench.load reads: wrk's own counts (requests, bytes, socket
-- errors, statuses over 399, timeouts), the latency percentiles of every request (microseconds, wall time
-- from sending a request to its whole answer) and the script's own counters, summed over the threads.

local report = {}
local threads = {}

function report.setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

-- `counters`: names of numeric globals each thread keeps.
function report.done(counters)
   return function(summary, latency, requests)
      local fields = {
         string.format('"duration_us":%d', summary.duration),
         string.format('"requests":%d', summary.requests),
         string.format('"bytes":%d', summary.bytes),
         string.format('"threads":%d', #threads),
      }
      for _, name in ipairs({ "connect", "read", "write", "status", "timeout" }) do
         table.insert(fields, string.format('"%s":%d', name, summary.errors[name]))
      end
      for _, p in ipairs({ 50, 90, 99 }) do
         table.insert(fields, string.format('"p%d_us":%d', p, latency:percentile(p)))
      end
      table.insert(fields, string.format('"max_us":%d', latency.max))
      for _, name in ipairs(counters) do
         local total = 0
         for _, thread in ipairs(threads) do
            total = total + (thread:get(name) or 0)
         end
         table.insert(fields, string.format('"%s":%d', name, total))
      end
      io.write("BENCH {" .. table.concat(fields, ",") .. "}\n")
   end
end

return report
