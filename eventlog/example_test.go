package eventlog_test

import (
	"fmt"
	"strings"

	"github.com/sfbridge/sfbridge/eventlog"
)

func ExampleReader() {
	body := `"EVENT_TYPE","TIMESTAMP","REQUEST_ID","ORGANIZATION_ID","USER_NAME","CLIENT_IP","LOGIN_STATUS","RUN_TIME"
"Login","20240115123456.789","4exLFFQZ1","00D5j000000ABCD","jane@example.com","Salesforce.com IP","LOGIN_NO_ERROR","42"
`
	r, err := eventlog.NewReader(strings.NewReader(body), eventlog.File{
		ID: "0AT5j00002GVrfnGAD", EventType: "Login", Interval: "Hourly", Sequence: 1,
		FieldTypes: "String,String,String,Id,String,String,String,Number",
	}, eventlog.Options{})
	if err != nil {
		panic(err)
	}
	for r.Next() {
		ev := r.Event()
		fmt.Println(ev.Dataset().Name, ev.Row(), ev.ID())
		fmt.Println(string(ev.AppendJSON(nil)))
	}
	if err := r.Err(); err != nil {
		panic(err)
	}
	// Output:
	// salesforce.login 1 7718f717045c385afcca672b81fd0c58
	// {"@timestamp":"2024-01-15T12:34:56.789Z","event":{"action":"login-attempt","category":["authentication"],"dataset":"salesforce.login","id":"7718f717045c385afcca672b81fd0c58","kind":"event","module":"salesforce","outcome":"success","provider":"EventLogFile","type":["info"]},"salesforce":{"log_file":{"event_type":"Login","id":"0AT5j00002GVrfnGAD","interval":"Hourly","row":1,"sequence":1},"login":{"client_ip":"Salesforce.com IP","event_type":"Login","login_status":"LOGIN_NO_ERROR","organization_id":"00D5j000000ABCD","request":{"id":"4exLFFQZ1"},"request_id":"4exLFFQZ1","run_time":42,"timestamp":"20240115123456.789","user_name":"jane@example.com"}},"user":{"email":"jane@example.com","name":"jane@example.com"}}
}
